"""`sagactl audit`: proves from what the services and Temporal say that money and stock add up.

It reads the three services over their REST API and each order's workflow over Temporal's client API,
checks four invariants and reports every violation. It changes nothing and never opens a database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from infra.rest import ApiError, RestClient, ServiceCallError, ServiceUnavailable, all_pages
from infra.stack import StackConfig
from saga_contract import (
    NAMESPACE,
    WORKFLOW_TYPE,
    Compensation,
    Step,
    idempotency_key,
    order_id_of,
    parse_idempotency_key,
    workflow_id,
)

MONEY, STOCK, LIVENESS, EXACTLY_ONCE = "money", "stock", "liveness", "exactly_once"
DEFAULT_DEADLINE_SECONDS = 300
DEADLINE_GRACE_SECONDS = 30
"""How long past its deadline a saga may still run: the compensations it starts then need a moment."""

TEMPORAL_CONCURRENCY = 20
FINAL = ("CONFIRMED", "CANCELLED")

# (service, event kind) -> the saga activity whose idempotency key may record it.
SAGA_STEP_OF_EVENT = {
    ("payment_svc", "AUTHORIZED"): Step.AUTHORIZE_PAYMENT,
    ("payment_svc", "CAPTURED"): Step.CAPTURE_PAYMENT,
    ("payment_svc", "VOIDED"): Compensation.VOID_PAYMENT,
    ("inventory_svc", "RESERVED"): Step.RESERVE_STOCK,
    ("inventory_svc", "COMMITTED"): Step.COMMIT_STOCK,
    ("inventory_svc", "RELEASED"): Compensation.RELEASE_STOCK,
}


@dataclass
class Violation:
    invariant: str
    subject: str
    """What is wrong: 'order <id>', 'sku <sku>', 'customer <id>', 'all accounts', 'key <key>', 'workflow <id>'."""
    detail: str


@dataclass
class InvariantResult:
    name: str
    checked: int
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass
class AuditReport:
    results: list[InvariantResult]
    audited_at: str
    """When the audit began reading (ISO 8601, UTC)."""
    seen: dict[str, int]
    """How many of each thing the audit read: orders, workflows, accounts, payments, events..."""

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def violations(self) -> list[Violation]:
        return [violation for result in self.results for violation in result.violations]

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "audited_at": self.audited_at,
            "seen": self.seen,
            "invariants": [
                {
                    "name": result.name,
                    "checked": result.checked,
                    "ok": result.ok,
                    "violations": [asdict(violation) for violation in result.violations],
                }
                for result in self.results
            ],
        }

    def lines(self) -> list[str]:
        """The text report: one line per invariant, each followed by its violations, indented."""
        lines = []
        for result in self.results:
            count = len(result.violations)
            verdict = "OK" if result.ok else f"{count} violation{'s' if count > 1 else ''}"
            lines.append(f"{result.name:<13} checked {result.checked:<6} {verdict}")
            lines += [f"  {violation.subject}: {violation.detail}" for violation in result.violations]
        return lines


class TemporalUnavailable(ServiceCallError):
    """Temporal could not be asked about the workflows."""


@dataclass(frozen=True)
class WorkflowState:
    status: str
    """A WorkflowExecutionStatus name: RUNNING, COMPLETED, FAILED, TERMINATED, TIMED_OUT, ..."""
    start_time: datetime
    result: dict | None
    """The saga's result, for a COMPLETED workflow."""


@dataclass
class Snapshot:
    """Everything the audit read, as the services answered it (JSON objects)."""

    orders: dict[str, dict]
    workflows: dict[str, WorkflowState | None]  # order id -> its workflow, None when there is none
    orphan_workflows: dict[str, str]  # workflow id -> why no order goes with it
    accounts: list[dict]
    merchant_cents: int
    payments: list[dict]
    payment_events: list[dict]
    products: list[dict]
    reservations: list[dict]
    reservation_events: list[dict]
    read_workflows_at: datetime

    def final_orders(self) -> list[dict]:
        return [order for order in self.orders.values() if order["status"] in FINAL]


def run_audit(
    *,
    order_url: str,
    payment_url: str,
    inventory_url: str,
    temporal_address: str,
    token: str,
    namespace: str = "default",
    deadline_seconds: int = DEFAULT_DEADLINE_SECONDS,
) -> AuditReport:
    """Read the services (as the operator holding `token`) and Temporal, check every invariant, and report.

    The reads are not one atomic snapshot: audit a quiet system (no saga moving), or audit again when
    something looks wrong. ServiceCallError (or its TemporalUnavailable) when something cannot be read.
    """
    audited_at = datetime.now(UTC)
    with (
        RestClient("order_svc", order_url, token=token) as orders_api,
        RestClient("payment_svc", payment_url, token=token) as payment_api,
        RestClient("inventory_svc", inventory_url, token=token) as inventory_api,
    ):
        # Orders first, then their workflows, then the effects: an order that is final when read has
        # made all its effects already, so the later reads cannot catch it half-way.
        orders = {order["id"]: order for order in all_pages(orders_api, "/api/v1/orders")}
        workflows, listed = asyncio.run(_read_workflows(temporal_address, namespace, list(orders)))
        read_workflows_at = datetime.now(UTC)
        for order_id, workflow in workflows.items():
            if workflow and workflow.status == "COMPLETED" and orders[order_id]["status"] not in FINAL:
                orders[order_id] = _get_order(orders_api, order_id) or orders[order_id]  # it finished meanwhile
        snapshot = Snapshot(
            orders=orders,
            workflows=workflows,
            orphan_workflows=_orphans(orders_api, listed, orders),
            accounts=all_pages(payment_api, "/api/v1/accounts"),
            merchant_cents=payment_api.check(payment_api.get("/api/v1/merchant"))["balance_cents"],
            payments=all_pages(payment_api, "/api/v1/payments"),
            payment_events=all_pages(payment_api, "/api/v1/payment-events"),
            products=all_pages(inventory_api, "/api/v1/products"),
            reservations=all_pages(inventory_api, "/api/v1/reservations"),
            reservation_events=all_pages(inventory_api, "/api/v1/reservation-events"),
            read_workflows_at=read_workflows_at,
        )
    return AuditReport(
        results=[
            check_money(snapshot),
            check_stock(snapshot),
            check_liveness(snapshot, deadline_seconds=deadline_seconds),
            check_exactly_once(snapshot),
        ],
        audited_at=audited_at.isoformat(timespec="seconds"),
        seen={
            "orders": len(snapshot.orders),
            "workflows": sum(workflow is not None for workflow in workflows.values()),
            "accounts": len(snapshot.accounts),
            "payments": len(snapshot.payments),
            "payment_events": len(snapshot.payment_events),
            "products": len(snapshot.products),
            "reservations": len(snapshot.reservations),
            "reservation_events": len(snapshot.reservation_events),
        },
    )


# Reading



def _get_order(orders_api: RestClient, order_id: str) -> dict | None:
    try:
        return orders_api.check(orders_api.get(f"/api/v1/orders/{order_id}"))
    except ApiError as error:
        if error.status == 404:
            return None
        raise


def _orphans(orders_api: RestClient, listed: list[str], orders: dict[str, dict]) -> dict[str, str]:
    """The listed OrderSaga workflows that no order goes with. The list is eventually consistent and
    taken after the orders were read, so an order the list names but the order list lacks is asked for."""
    orphans = {}
    for listed_id in listed:
        order_id = order_id_of(listed_id)
        if order_id is None:
            orphans[listed_id] = "its id names no order"
        elif order_id not in orders and _get_order(orders_api, order_id) is None:
            orphans[listed_id] = "order_svc has no such order"
    return orphans


async def _read_workflows(
    address: str, namespace: str, order_ids: list[str]
) -> tuple[dict[str, WorkflowState | None], list[str]]:
    """Each order's workflow, described by id (strongly consistent), and the ids of every OrderSaga
    workflow the visibility store lists."""
    # Imported here, so that sagactl's other commands never load the SDK.
    from temporalio.client import Client, WorkflowExecutionStatus
    from temporalio.service import RPCError, RPCStatusCode

    try:
        client = await Client.connect(address, namespace=namespace, connect_timeout=timedelta(seconds=10))
    except RuntimeError as error:
        raise TemporalUnavailable(f"Temporal at {address} did not answer ({error})") from error
    limit = asyncio.Semaphore(TEMPORAL_CONCURRENCY)

    async def describe(order_id: str) -> WorkflowState | None:
        handle = client.get_workflow_handle(workflow_id(order_id))
        async with limit:
            try:
                described = await handle.describe()
                completed = described.status == WorkflowExecutionStatus.COMPLETED
                result = await handle.result() if completed else None
            except RPCError as error:
                if error.status == RPCStatusCode.NOT_FOUND:
                    return None
                raise TemporalUnavailable(f"Temporal at {address}: {handle.id}: {error}") from error
        status = described.status.name if described.status else "UNSPECIFIED"
        return WorkflowState(status, described.start_time, result if isinstance(result, dict) else None)

    described = await asyncio.gather(*(describe(order_id) for order_id in order_ids))
    try:
        listed = [execution.id async for execution in client.list_workflows(f'WorkflowType = "{WORKFLOW_TYPE}"')]
    except RPCError as error:
        raise TemporalUnavailable(f"Temporal at {address}: listing workflows: {error}") from error
    return dict(zip(order_ids, described, strict=True)), listed


# The invariants


def check_money(snapshot: Snapshot) -> InvariantResult:
    """Each account and the books as a whole hold what was deposited; no final order keeps a hold; each
    final order's net capture (from CAPTURED events) is its total when CONFIRMED and 0 when CANCELLED."""
    result = InvariantResult(MONEY, checked=len(snapshot.accounts) + 1 + len(snapshot.final_orders()))
    captured_from = Counter()
    for payment in snapshot.payments:
        if payment["status"] == "CAPTURED":
            captured_from[payment["customer_id"]] += payment["amount_cents"]
    for account in snapshot.accounts:
        balance, held, deposited = account["balance_cents"], account["held_cents"], account["deposited_cents"]
        captured = captured_from[account["customer_id"]]
        if balance + held + captured != deposited:
            result.violations.append(Violation(
                MONEY, f"customer {account['customer_id']}",
                f"balance {balance} + held {held} + captured {captured} = {balance + held + captured}, "
                f"but {deposited} was deposited",
            ))

    balances = sum(account["balance_cents"] for account in snapshot.accounts)
    holds = sum(account["held_cents"] for account in snapshot.accounts)
    deposited = sum(account["deposited_cents"] for account in snapshot.accounts)
    total = balances + holds + snapshot.merchant_cents
    if total != deposited:
        result.violations.append(Violation(
            MONEY, "all accounts",
            f"balances {balances} + holds {holds} + merchant {snapshot.merchant_cents} = {total}, "
            f"but {deposited} was deposited ({total - deposited:+d})",
        ))

    held_for = {p["order_id"]: p["amount_cents"] for p in snapshot.payments if p["status"] == "AUTHORIZED"}
    net_capture = Counter()
    for event in snapshot.payment_events:
        if event["kind"] == "CAPTURED":
            net_capture[event["order_id"]] += event["amount_cents"]
    for order in snapshot.final_orders():
        subject, status, order_total = f"order {order['id']}", order["status"], order["total_cents"]
        if order["id"] in held_for:
            result.violations.append(Violation(
                MONEY, subject, f"{status}, yet its payment still holds {held_for[order['id']]} (AUTHORIZED)"
            ))
        captured = net_capture[order["id"]]
        if status == "CONFIRMED" and captured != order_total:
            result.violations.append(Violation(
                MONEY, subject, f"CONFIRMED with total {order_total}, but {captured} was captured"
            ))
        elif status == "CANCELLED" and captured:
            result.violations.append(Violation(MONEY, subject, f"CANCELLED, but {captured} was captured"))
    return result


def check_stock(snapshot: Snapshot) -> InvariantResult:
    """Per SKU: nothing over-reserved, and stock received − on hand = committed = sold in CONFIRMED orders;
    no final order keeps a RESERVED reservation."""
    products = {product["sku"]: product for product in snapshot.products}
    committed, sold = Counter(), Counter()
    for reservation in snapshot.reservations:
        if reservation["status"] == "COMMITTED":
            for line in reservation["lines"]:
                committed[line["sku"]] += line["quantity"]
    for order in snapshot.orders.values():
        if order["status"] == "CONFIRMED":
            for item in order["items"]:
                sold[item["sku"]] += item["quantity"]
    skus = sorted(products.keys() | committed.keys() | sold.keys())
    result = InvariantResult(STOCK, checked=len(skus) + len(snapshot.final_orders()))

    for sku in skus:
        subject = f"sku {sku}"
        product = products.get(sku)
        if product is None:
            result.violations.append(Violation(
                STOCK, subject, f"not in the catalog, yet {committed[sku]} committed and {sold[sku]} sold"
            ))
            continue
        on_hand, reserved, received = product["on_hand"], product["reserved"], product["received"]
        if on_hand - reserved < 0:
            result.violations.append(Violation(
                STOCK, subject, f"available {on_hand - reserved} < 0 (on hand {on_hand}, reserved {reserved})"
            ))
        if not received - on_hand == committed[sku] == sold[sku]:
            result.violations.append(Violation(
                STOCK, subject,
                f"received {received} - on hand {on_hand} = {received - on_hand}, but {committed[sku]} "
                f"committed and {sold[sku]} in CONFIRMED orders",
            ))

    reserved_for = {r["order_id"]: r for r in snapshot.reservations if r["status"] == "RESERVED"}
    for order in snapshot.final_orders():
        reservation = reserved_for.get(order["id"])
        if reservation is not None:
            lines = ", ".join(f"{line['sku']} x{line['quantity']}" for line in reservation["lines"])
            result.violations.append(Violation(
                STOCK, f"order {order['id']}", f"{order['status']}, yet its stock is still RESERVED ({lines})"
            ))
    return result


def check_liveness(snapshot: Snapshot, *, deadline_seconds: int) -> InvariantResult:
    """Every order is final or its saga is running within its deadline (or past the pivot), every final
    order agrees with its workflow's result, and no workflow without an order had an effect."""
    result = InvariantResult(LIVENESS, checked=len(snapshot.orders) + len(snapshot.orphan_workflows))
    captured = {p["order_id"] for p in snapshot.payments if p["status"] == "CAPTURED"}
    allowed = timedelta(seconds=deadline_seconds + DEADLINE_GRACE_SECONDS)
    for order_id, order in snapshot.orders.items():
        subject, workflow = f"order {order_id}", snapshot.workflows[order_id]
        if workflow is None:
            result.violations.append(Violation(
                LIVENESS, subject, f"{_outcome(order)}, but it has no workflow order-{order_id}"
            ))
        elif workflow.status == "RUNNING":
            age = snapshot.read_workflows_at - workflow.start_time
            if order["status"] not in FINAL and order_id not in captured and age > allowed:
                result.violations.append(Violation(
                    LIVENESS, subject,
                    f"PENDING, its saga running for {age.total_seconds():.0f} s, past its {deadline_seconds} s "
                    "deadline, and its payment is not captured",
                ))
        elif workflow.status == "COMPLETED":
            disagreement = _disagreement(order, workflow.result)
            if disagreement:
                result.violations.append(Violation(LIVENESS, subject, disagreement))
        else:
            result.violations.append(Violation(
                LIVENESS, subject, f"{_outcome(order)}, but its workflow is {workflow.status}"
            ))
    touched = {e["order_id"] for e in (*snapshot.payment_events, *snapshot.reservation_events)}
    for orphan_id, why in snapshot.orphan_workflows.items():
        # A saga whose order was rolled back (before the outbox) looks for it, finds none and stops
        # (ABANDONED) before any effect; only one that reached a service is a violation.
        order_id = order_id_of(orphan_id)
        if order_id is None or order_id in touched:
            result.violations.append(Violation(LIVENESS, f"workflow {orphan_id}", f"{why}, yet it had effects"
                                               if order_id else why))
    return result


def _outcome(order_or_result: dict) -> str:
    """'CONFIRMED', 'CANCELLED (out_of_stock)', 'PENDING'."""
    status = order_or_result.get("status")
    reason = order_or_result.get("cancellation_reason", order_or_result.get("reason"))
    return f"{status} ({reason})" if reason else str(status)


def _disagreement(order: dict, saga_result: dict | None) -> str | None:
    if saga_result is None:
        return f"{_outcome(order)}, but its workflow returned no saga result"
    said = f"{_outcome(order)}, but its workflow returned {_outcome(saga_result)}"
    if order["status"] != saga_result.get("status"):
        return said
    if order["status"] == "CANCELLED" and order["cancellation_reason"] != saga_result.get("reason"):
        return said
    returned_total = saga_result.get("total_cents")
    if order["status"] == "CONFIRMED" and order["total_cents"] != returned_total:
        return f"CONFIRMED with total {order['total_cents']}, but its workflow returned total {returned_total}"
    return None


def check_exactly_once(snapshot: Snapshot) -> InvariantResult:
    """At most one event of each kind per order in each service; no idempotency key on two events; a saga
    key names the order of its event and the step that makes that kind of event."""
    events = [("payment_svc", event) for event in snapshot.payment_events]
    events += [("inventory_svc", event) for event in snapshot.reservation_events]
    result = InvariantResult(EXACTLY_ONCE, checked=len(events))

    per_step = Counter((service, event["order_id"], event["kind"]) for service, event in events)
    for (service, order_id, kind), count in per_step.items():
        if count > 1:
            result.violations.append(Violation(
                EXACTLY_ONCE, f"order {order_id}", f"{count} {kind} events in {service}"
            ))

    by_key = defaultdict(list)
    for service, event in events:
        if event["idempotency_key"]:
            by_key[event["idempotency_key"]].append(f"{service} {event['kind']} of order {event['order_id']}")
    for key, uses in by_key.items():
        if len(uses) > 1:
            result.violations.append(Violation(
                EXACTLY_ONCE, f"key {key}", f"on {len(uses)} events: {'; '.join(uses)}"
            ))

    for service, event in events:
        named = parse_idempotency_key(event["idempotency_key"])
        step = SAGA_STEP_OF_EVENT[(service, event["kind"])]
        if named and named != (event["order_id"], step):
            result.violations.append(Violation(
                EXACTLY_ONCE, f"order {event['order_id']}",
                f"{service} {event['kind']} event carries key {event['idempotency_key']}, "
                f"not {idempotency_key(workflow_id(event['order_id']), step)}",
            ))
    return result


# The command


def command(config: StackConfig, *, json_file: Path | None, deadline_seconds: int) -> NoReturn:
    """`sagactl audit`: print the report, write it as JSON if asked, and exit 0 when every invariant
    holds, 1 on a violation or a service that cannot be read, 2 when the JSON file cannot be written.
    Leaves through os._exit: a process that used temporalio can crash at interpreter exit."""
    code = 1
    try:
        code = _audit_and_print(config, json_file=json_file, deadline_seconds=deadline_seconds)
    except (ServiceUnavailable, TemporalUnavailable) as error:
        print(f"sagactl: {error}; is `sagactl up` running?", file=sys.stderr)
    except ServiceCallError as error:
        print(f"sagactl: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except Exception:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _audit_and_print(config: StackConfig, *, json_file: Path | None, deadline_seconds: int) -> int:
    report = run_audit(
        order_url=config.order_url,
        payment_url=config.payment_url,
        inventory_url=config.inventory_url,
        temporal_address=config.temporal_address,
        token=config.local_keys().operator_token(),
        namespace=NAMESPACE,
        deadline_seconds=deadline_seconds,
    )
    console = Console(highlight=False, soft_wrap=True)
    for line in report.lines():
        style = "red" if line.startswith(" ") else "green" if line.endswith(" OK") else "bold red"
        console.print(line, style=style, markup=False)
    if json_file is not None:
        try:
            json_file.write_text(json.dumps(report.as_json(), indent=2) + "\n")
        except OSError as error:
            print(f"sagactl: cannot write {json_file}: {error.strerror or error}", file=sys.stderr)
            return 2
    return 0 if report.ok else 1


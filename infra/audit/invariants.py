"""The invariants, each a pure function of a snapshot: money adds up, stock adds up, every saga ends
(liveness), every step took effect exactly once, every state change was told exactly once (events),
and every final order's customer heard of it exactly once (notifications)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from infra.audit.report import (
    EVENTS,
    EXACTLY_ONCE,
    LIVENESS,
    MONEY,
    NOTIFICATIONS,
    STOCK,
    InvariantResult,
    Violation,
)
from infra.audit.snapshot import FINAL, Snapshot
from infra.rest import JsonObject
from saga_contract import (
    Compensation,
    Step,
    idempotency_key,
    order_id_of,
    parse_idempotency_key,
    workflow_id,
)
from saga_contract.events import EventType

DEADLINE_GRACE_SECONDS = 30
DELIVERY_GRACE_SECONDS = 60
"""How long an event may wait for the broker's confirm, and a final order for its notification to be
sent, before the audit counts it missing: a publisher or a notifier that was just restarted catches up."""

# (service, event kind) -> the saga activity whose idempotency key may record it.
SAGA_STEP_OF_EVENT = {
    ("payment_svc", "AUTHORIZED"): Step.AUTHORIZE_PAYMENT,
    ("payment_svc", "CAPTURED"): Step.CAPTURE_PAYMENT,
    ("payment_svc", "VOIDED"): Compensation.VOID_PAYMENT,
    ("inventory_svc", "RESERVED"): Step.RESERVE_STOCK,
    ("inventory_svc", "COMMITTED"): Step.COMMIT_STOCK,
    ("inventory_svc", "RELEASED"): Compensation.RELEASE_STOCK,
}


def check_money(snapshot: Snapshot) -> InvariantResult:
    """Each account and the books as a whole hold what was deposited; no final order keeps a hold; each
    final order's net capture (from CAPTURED events) is its total when CONFIRMED and 0 when CANCELLED."""
    result = InvariantResult(MONEY, checked=len(snapshot.accounts) + 1 + len(snapshot.final_orders()))
    captured_from: Counter[str] = Counter()
    for payment in snapshot.payments:
        if payment["status"] == "CAPTURED":
            captured_from[payment["customer_id"]] += payment["amount_cents"]
    for account in snapshot.accounts:
        balance, held, deposited = account["balance_cents"], account["held_cents"], account["deposited_cents"]
        captured = captured_from[account["customer_id"]]
        if balance + held + captured != deposited:
            result.violations.append(
                Violation(
                    MONEY,
                    f"customer {account['customer_id']}",
                    f"balance {balance} + held {held} + captured {captured} = {balance + held + captured}, "
                    f"but {deposited} was deposited",
                )
            )

    balances = sum(account["balance_cents"] for account in snapshot.accounts)
    holds = sum(account["held_cents"] for account in snapshot.accounts)
    deposited = sum(account["deposited_cents"] for account in snapshot.accounts)
    total = balances + holds + snapshot.merchant_cents
    if total != deposited:
        result.violations.append(
            Violation(
                MONEY,
                "all accounts",
                f"balances {balances} + holds {holds} + merchant {snapshot.merchant_cents} = {total}, "
                f"but {deposited} was deposited ({total - deposited:+d})",
            )
        )

    held_for = {p["order_id"]: p["amount_cents"] for p in snapshot.payments if p["status"] == "AUTHORIZED"}
    net_capture: Counter[str] = Counter()
    for event in snapshot.payment_events:
        if event["kind"] == "CAPTURED":
            net_capture[event["order_id"]] += event["amount_cents"]
    for order in snapshot.final_orders():
        subject, status, order_total = f"order {order['id']}", order["status"], order["total_cents"]
        if order["id"] in held_for:
            result.violations.append(
                Violation(
                    MONEY,
                    subject,
                    f"{status}, yet its payment still holds {held_for[order['id']]} (AUTHORIZED)",
                )
            )
        captured = net_capture[order["id"]]
        if status == "CONFIRMED" and captured != order_total:
            result.violations.append(
                Violation(MONEY, subject, f"CONFIRMED with total {order_total}, but {captured} was captured")
            )
        elif status == "CANCELLED" and captured:
            result.violations.append(Violation(MONEY, subject, f"CANCELLED, but {captured} was captured"))
    return result


def check_stock(snapshot: Snapshot) -> InvariantResult:
    """Per SKU: nothing over-reserved, and stock received − on hand = committed = sold in CONFIRMED orders;
    no final order keeps a RESERVED reservation."""
    products = {product["sku"]: product for product in snapshot.products}
    committed: Counter[str] = Counter()
    sold: Counter[str] = Counter()
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
            result.violations.append(
                Violation(
                    STOCK, subject, f"not in the catalog, yet {committed[sku]} committed and {sold[sku]} sold"
                )
            )
            continue
        on_hand, reserved, received = product["on_hand"], product["reserved"], product["received"]
        if on_hand - reserved < 0:
            result.violations.append(
                Violation(
                    STOCK,
                    subject,
                    f"available {on_hand - reserved} < 0 (on hand {on_hand}, reserved {reserved})",
                )
            )
        if not received - on_hand == committed[sku] == sold[sku]:
            result.violations.append(
                Violation(
                    STOCK,
                    subject,
                    f"received {received} - on hand {on_hand} = {received - on_hand}, but {committed[sku]} "
                    f"committed and {sold[sku]} in CONFIRMED orders",
                )
            )

    reserved_for = {r["order_id"]: r for r in snapshot.reservations if r["status"] == "RESERVED"}
    for order in snapshot.final_orders():
        still_reserved = reserved_for.get(order["id"])
        if still_reserved is not None:
            lines = ", ".join(f"{line['sku']} x{line['quantity']}" for line in still_reserved["lines"])
            result.violations.append(
                Violation(
                    STOCK,
                    f"order {order['id']}",
                    f"{order['status']}, yet its stock is still RESERVED ({lines})",
                )
            )
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
            result.violations.append(
                Violation(LIVENESS, subject, f"{_outcome(order)}, but it has no workflow order-{order_id}")
            )
        elif workflow.status == "RUNNING":
            age = snapshot.read_workflows_at - workflow.start_time
            if order["status"] not in FINAL and order_id not in captured and age > allowed:
                result.violations.append(
                    Violation(
                        LIVENESS,
                        subject,
                        f"PENDING, its saga running for {age.total_seconds():.0f} s, past its {deadline_seconds} s "
                        "deadline, and its payment is not captured",
                    )
                )
        elif workflow.status == "COMPLETED":
            disagreement = _disagreement(order, workflow.result)
            if disagreement:
                result.violations.append(Violation(LIVENESS, subject, disagreement))
        else:
            result.violations.append(
                Violation(LIVENESS, subject, f"{_outcome(order)}, but its workflow is {workflow.status}")
            )
    touched = {e["order_id"] for e in (*snapshot.payment_events, *snapshot.reservation_events)}
    for orphan_id, why in snapshot.orphan_workflows.items():
        # A workflow without an order that never reached a service cost nobody anything (before the
        # outbox, a saga whose order was rolled back stopped that way); one that did is a violation.
        orphan_order_id = order_id_of(orphan_id)
        if orphan_order_id is None or orphan_order_id in touched:
            result.violations.append(
                Violation(
                    LIVENESS,
                    f"workflow {orphan_id}",
                    f"{why}, yet it had effects" if orphan_order_id else why,
                )
            )
    return result


def _outcome(order_or_result: JsonObject) -> str:
    """'CONFIRMED', 'CANCELLED (out_of_stock)', 'PENDING'."""
    status = order_or_result.get("status")
    reason = order_or_result.get("cancellation_reason", order_or_result.get("reason"))
    return f"{status} ({reason})" if reason else str(status)


def _disagreement(order: JsonObject, saga_result: JsonObject | None) -> str | None:
    if saga_result is None:
        return f"{_outcome(order)}, but its workflow returned no saga result"
    said = f"{_outcome(order)}, but its workflow returned {_outcome(saga_result)}"
    if order["status"] != saga_result.get("status"):
        return said
    if order["status"] == "CANCELLED" and order["cancellation_reason"] != saga_result.get("reason"):
        return said
    returned_total = saga_result.get("total_cents")
    if order["status"] == "CONFIRMED" and order["total_cents"] != returned_total:
        return (
            f"CONFIRMED with total {order['total_cents']}, but its workflow returned total {returned_total}"
        )
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
            result.violations.append(
                Violation(EXACTLY_ONCE, f"order {order_id}", f"{count} {kind} events in {service}")
            )

    by_key: defaultdict[str, list[str]] = defaultdict(list)
    for service, event in events:
        if event["idempotency_key"]:
            by_key[event["idempotency_key"]].append(f"{service} {event['kind']} of order {event['order_id']}")
    for key, uses in by_key.items():
        if len(uses) > 1:
            result.violations.append(
                Violation(EXACTLY_ONCE, f"key {key}", f"on {len(uses)} events: {'; '.join(uses)}")
            )

    for service, event in events:
        named = parse_idempotency_key(event["idempotency_key"])
        step = SAGA_STEP_OF_EVENT[(service, event["kind"])]
        if named and named != (event["order_id"], step):
            result.violations.append(
                Violation(
                    EXACTLY_ONCE,
                    f"order {event['order_id']}",
                    f"{service} {event['kind']} event carries key {event['idempotency_key']}, "
                    f"not {idempotency_key(workflow_id(event['order_id']), step)}",
                )
            )
    return result


def _older_than(snapshot: Snapshot, stamp: str | None, seconds: float) -> bool:
    """Whether `stamp` (ISO 8601) lies more than `seconds` before the snapshot's reads began."""
    if stamp is None or snapshot.read_at is None:
        return True
    return (snapshot.read_at - datetime.fromisoformat(stamp)).total_seconds() > seconds


def _expected_events(snapshot: Snapshot) -> dict[tuple[str, str], int]:
    """(event type, key) -> how many events the services' states say were recorded."""
    expected: Counter[tuple[str, str]] = Counter()
    for order in snapshot.orders.values():
        expected[EventType.ORDER_PLACED, order["id"]] = 1
        if order["status"] == "CONFIRMED":
            expected[EventType.ORDER_CONFIRMED, order["id"]] = 1
        elif order["status"] == "CANCELLED":
            expected[EventType.ORDER_CANCELLED, order["id"]] = 1
    for payment in snapshot.payments:
        if payment["status"] == "CAPTURED":
            expected[EventType.PAYMENT_CAPTURED, payment["order_id"]] = 1
        elif payment["status"] == "VOIDED" and payment["amount_cents"]:  # a tombstone moved no money
            expected[EventType.PAYMENT_VOIDED, payment["order_id"]] = 1
    return expected


def check_events(snapshot: Snapshot) -> InvariantResult:
    """Each order has one order.placed, a final order one event of its final state and none of the
    other, each captured or voided payment one event; each event id is unique; and no event has waited
    for the broker longer than DELIVERY_GRACE_SECONDS."""
    recorded: Counter[tuple[str, str]] = Counter()
    ids: Counter[str] = Counter()
    events = [event for listed in snapshot.events.values() for event in listed]
    result = InvariantResult(EVENTS, checked=len(events))
    for event in events:
        ids[event["id"]] += 1
        recorded[event["type"], event["key"]] += 1
        if event["published_at"] is None and _older_than(
            snapshot, event["occurred_at"], DELIVERY_GRACE_SECONDS
        ):
            result.violations.append(
                Violation(
                    EVENTS,
                    f"event {event['id']}",
                    f"{event['type']} of {event['key']} not published since {event['occurred_at']} "
                    f"({event['attempts']} attempts)",
                )
            )
    told = {EventType.ORDER_PLACED, EventType.ORDER_CONFIRMED, EventType.ORDER_CANCELLED}
    told |= {EventType.PAYMENT_CAPTURED, EventType.PAYMENT_VOIDED}
    expected = _expected_events(snapshot)
    for type_and_key in sorted(set(expected) | {k for k in recorded if k[0] in told}):
        if recorded[type_and_key] != expected[type_and_key]:
            event_type, key = type_and_key
            result.violations.append(
                Violation(
                    EVENTS,
                    f"key {key}",
                    f"{recorded[type_and_key]} {event_type} events recorded, {expected[type_and_key]} expected",
                )
            )
    for event_id, count in ids.items():
        if count > 1:
            result.violations.append(Violation(EVENTS, f"event {event_id}", f"recorded {count} times"))
    return result


def check_notifications(snapshot: Snapshot) -> InvariantResult:
    """Each final order has exactly one notification, of its final state, sent unless the order became
    final within DELIVERY_GRACE_SECONDS; no order that is not final has one."""
    notifications = snapshot.notifications or []
    result = InvariantResult(NOTIFICATIONS, checked=len(notifications) + len(snapshot.final_orders()))
    by_order: defaultdict[str, list[JsonObject]] = defaultdict(list)
    for notification in notifications:
        by_order[notification["order_id"]].append(notification)
    kind_of = {"CONFIRMED": EventType.ORDER_CONFIRMED, "CANCELLED": EventType.ORDER_CANCELLED}
    for order in snapshot.orders.values():
        found = by_order.pop(order["id"], [])
        subject = f"order {order['id']}"
        if order["status"] not in FINAL:
            if found:
                result.violations.append(
                    Violation(NOTIFICATIONS, subject, f"{order['status']}, yet notified")
                )
            continue
        settled = _older_than(snapshot, order["updated_at"], DELIVERY_GRACE_SECONDS)
        if len(found) > 1 or (not found and settled):
            result.violations.append(
                Violation(NOTIFICATIONS, subject, f"{len(found)} notifications, 1 expected")
            )
            continue
        for notification in found:
            if notification["type"] != kind_of[order["status"]]:
                result.violations.append(
                    Violation(NOTIFICATIONS, subject, f"{order['status']}, notified {notification['type']}")
                )
            elif notification["status"] != "SENT" and settled:
                result.violations.append(
                    Violation(
                        NOTIFICATIONS,
                        subject,
                        f"notification {notification['id']} still {notification['status']} after "
                        f"{notification['attempts']} attempts",
                    )
                )
    for order_id in sorted(by_order):
        result.violations.append(
            Violation(NOTIFICATIONS, f"order {order_id}", "notified, but order_svc has no such order")
        )
    return result

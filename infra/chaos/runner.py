"""One chaos run against a running, supervised, chaos-enabled stack: place the planned orders at a
steady rate while the scenario's failures are injected, wait (bounded) until every order is final,
audit, report."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from infra.audit import AuditReport, run_audit
from infra.broker import queue_depths
from infra.chaos.injection import Monkey
from infra.chaos.netns import Topology
from infra.chaos.plan import Catalog, PlannedOrder
from infra.chaos.report import ChaosReport, UnexpectedOutcome
from infra.chaos.scenarios import CHAOS_TUNING, Scenario
from infra.mail import MailSink
from infra.rest import FINAL_ORDER_STATUSES, ApiError, JsonObject, RestClient, ServiceCallError, all_pages
from infra.stack import SERVICES, Stack, log_lines
from infra.tcp_proxy import TcpProxy
from observability.logs import parse_line
from observability.tracing import temporal_tracing_plugins
from saga_contract import IDEMPOTENCY_IN_FLIGHT, NAMESPACE, workflow_id
from saga_contract.events import DEAD_LETTER_QUEUE

SETTLE_SECONDS = 120.0
"""How long a run waits, once every order is final, for their events to be published and their
notifications sent, before it audits."""


class _Log:
    """Timestamped lines for the person watching."""

    def __init__(self, printer: Callable[[str], object]) -> None:
        self.printer, self.started = printer, time.monotonic()

    def __call__(self, line: str) -> None:
        self.printer(f"[{time.monotonic() - self.started:6.1f} s] {line}")


def _place(orders: RestClient, planned: PlannedOrder, *, patience: float = 60.0) -> None:
    """POST the order as a careful client would: on a 5xx, an in-flight key or no answer, the same
    request again with the same Idempotency-Key, until accepted or out of patience."""
    body = {
        "customer_id": planned.customer_id,
        "items": [{"sku": sku, "quantity": qty} for sku, qty in planned.items.items()],
    }
    key = str(uuid.uuid4())
    deadline = time.monotonic() + patience
    while True:
        planned.place_attempts += 1
        try:
            order = orders.check(orders.post("/api/v1/orders", body, key=key))
            planned.order_id, planned.placed_at = order["id"], time.monotonic()
            return
        except ApiError as error:
            # A first attempt that died with its service keeps the key "in flight" for a while.
            retryable = error.status >= 500 or error.code == IDEMPOTENCY_IN_FLIGHT
            if not retryable or time.monotonic() >= deadline:
                raise
        except ServiceCallError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(min(2.0, 0.2 * planned.place_attempts))


def _seconds_to_final(order: JsonObject) -> float:
    return (
        datetime.fromisoformat(order["updated_at"]) - datetime.fromisoformat(order["created_at"])
    ).total_seconds()


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(ordered[max(0, int(len(ordered) * 0.99 + 0.5) - 1)], 3),
        "max": round(ordered[-1], 3),
    }


async def _read_histories(temporal_address: str, workflow_ids: list[str]) -> tuple[int, Counter[str]]:
    """Activity attempts past the first, summed over the workflows' histories: the duplicates the
    system absorbed (each final attempt's number is recorded on its ActivityTaskStarted event); and
    how many sagas ran on each worker version (the build id of their first completed task)."""
    from temporalio.client import Client

    client = await Client.connect(temporal_address, namespace=NAMESPACE, plugins=temporal_tracing_plugins())
    semaphore = asyncio.Semaphore(16)

    async def read(workflow_id: str) -> tuple[int, str]:
        async with semaphore:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        extra = sum(
            event.activity_task_started_event_attributes.attempt - 1
            for event in history.events
            if event.HasField("activity_task_started_event_attributes")
        )
        versions = [
            event.workflow_task_completed_event_attributes.deployment_version.build_id
            for event in history.events
            if event.HasField("workflow_task_completed_event_attributes")
        ]
        return extra, versions[0] if versions else "none"

    read_all = await asyncio.gather(*(read(workflow_id) for workflow_id in workflow_ids))
    return sum(extra for extra, _ in read_all), Counter(version for _, version in read_all)


def _repeated_calls(log_dir: Path, order_ids: set[str]) -> int:
    """Repeated POSTs per (service, path, order) in the services' request logs: inner retries,
    Temporal retries and replays alike, each one a duplicate the idempotency keys absorbed."""
    seen: Counter[tuple[str, str, str]] = Counter()
    for service in SERVICES:
        for raw in log_lines(log_dir / f"{service}.log"):
            line = parse_line(raw)
            if line is None:
                continue
            if (
                line.get("logger") == "chassis.request"
                and line.get("method") == "POST"
                and line.get("order_id") in order_ids
            ):
                seen[service, line["path"], line["order_id"]] += 1
    return sum(count - 1 for count in seen.values())


def _breakers_opened(log_dir: Path) -> dict[str, int]:
    """How often each service's breaker opened, by the workers' logs of its state changes."""
    opened: Counter[str] = Counter()
    for path in sorted(log_dir.glob("worker*.log")):
        for raw in log_lines(path):
            line = parse_line(raw)
            message = str(line.get("message", "")) if line else ""
            if line and line.get("logger") == "orchestrator.breakers" and message.endswith("-> open"):
                opened[message.removeprefix("circuit breaker ").split(":", 1)[0]] += 1
    return dict(sorted(opened.items()))


class Progress(Protocol):
    """How a run reports its progress: ("placed") for each order placed, ("final", count) with the
    number of orders that are final."""

    def __call__(self, kind: str, count: int | None = None, /) -> None: ...


@dataclass
class ChaosOptions:
    scenario: Scenario
    orders: int
    concurrency: int = 4
    seed: int = 1
    rate: float = 5.0
    """Orders placed per second, so that the failures meet orders in flight."""
    timeout: float = 300.0
    """Seconds to wait, after the last order was placed, for every order to be final."""


def _settled(
    orders: RestClient, payment: RestClient, inventory: RestClient, notification: RestClient, final: int
) -> bool:
    """Every event published, and at least `final` notifications, none of them waiting to be sent."""
    for api in (orders, payment, inventory):
        if api.check(api.get("/api/v1/events", params={"published": "false", "page_size": "1"}))["count"]:
            return False
    pending: int = notification.check(
        notification.get("/api/v1/notifications", params={"status": "PENDING"})
    )["count"]
    notified: int = notification.check(notification.get("/api/v1/notifications", params={"page_size": "1"}))[
        "count"
    ]
    return pending == 0 and notified >= final


def _mail_report(mail: MailSink | None, order_ids: set[str]) -> dict[str, int]:
    """What the run's SMTP server received for the run's orders: messages delivered, distinct
    messages (Message-IDs), orders that got two different messages (a notification made twice), and
    the messages refused while it refused mail. A delivery repeated with the same Message-ID (the
    notifier died between the server's acceptance and marking it sent) is one message to any mail
    client; `delivered - distinct` counts those."""
    if mail is None:
        return {}
    received = [message for message in mail.messages() if message.header("X-Order-Id") in order_ids]
    distinct = {(message.header("X-Order-Id"), message.message_id) for message in received}
    per_order = Counter(order_id for order_id, _ in distinct)
    return {
        "delivered": len(received),
        "distinct": len(distinct),
        "orders_mailed_twice": sum(1 for count in per_order.values() if count > 1),
        "refused": mail.refused,
    }


def run_chaos(
    stack: Stack,
    options: ChaosOptions,
    *,
    log: Callable[[str], object] = print,
    progress: Progress | None = None,
    mail: MailSink | None = None,
    broker_proxy: TcpProxy | None = None,
    topology: Topology | None = None,
) -> ChaosReport:
    """Drive one scenario against a running, supervised, chaos-enabled stack and report. `mail` is
    the SMTP server its notifier sends to, `broker_proxy` the proxy between it and RabbitMQ,
    `topology` the network namespaces its services run in."""
    rng = random.Random(options.seed)
    run_id = f"C{options.seed}-{uuid.uuid4().hex[:6]}".upper()
    say = _Log(log)
    started = time.monotonic()
    keys = stack.config.tokens()
    operator = keys.operator_token()
    orders = RestClient("order_svc", stack.order_url, token=operator, timeout=30)
    inventory = RestClient("inventory_svc", stack.inventory_url, token=operator, timeout=30)
    payment = RestClient("payment_svc", stack.payment_url, token=operator, timeout=30)
    notification = RestClient("notification_svc", stack.config.notification_url, token=operator, timeout=30)
    catalog = Catalog.make(run_id, rng)
    # Each customer places its own orders, with its own token, like any client.
    customers = {
        customer: RestClient("order_svc", stack.order_url, token=keys.customer_token(customer), timeout=30)
        for customer in [*catalog.rich, catalog.poor]
    }
    try:
        catalog.create(inventory, payment, options.orders)
        planned = catalog.plan(options.orders, rng)
        say(
            f"{options.scenario.name}: {options.orders} orders at {options.rate:g}/s, concurrency {options.concurrency}"
        )

        monkey = Monkey(
            stack, options.scenario, rng, say, mail=mail, broker_proxy=broker_proxy, topology=topology
        )
        monkey.start()
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
            futures = []
            for index, order in enumerate(planned):
                delay = t0 + index / options.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(_place, customers[order.customer_id], order))
            for future in futures:
                future.result()
                if progress:
                    progress("placed")
        # Keep injecting until the scenario's every failure happened at least once (bounded).
        injecting_until = time.monotonic() + 60
        while not monkey.injected_enough and time.monotonic() < injecting_until:
            time.sleep(0.5)
        faults = monkey.stop()
        say("injection stopped; waiting for every order to be final")

        wanted = {order.placed_id for order in planned}
        deadline = time.monotonic() + options.timeout
        while True:
            seen = {o["id"]: o for o in all_pages(orders, "/api/v1/orders") if o["id"] in wanted}
            final = {oid: o for oid, o in seen.items() if o["status"] in FINAL_ORDER_STATUSES}
            if progress:
                progress("final", len(final))
            if len(final) == len(wanted) or time.monotonic() >= deadline:
                break
            time.sleep(0.5)

        say("waiting for every event to be published and every notification sent")
        settle_until = time.monotonic() + SETTLE_SECONDS
        while not _settled(orders, payment, inventory, notification, len(final)):
            if time.monotonic() >= settle_until:
                say(f"not settled after {SETTLE_SECONDS:.0f} s; the audit says what is missing")
                break
            time.sleep(0.5)

        say("auditing")
        audit: AuditReport = run_audit(
            order_url=stack.order_url,
            payment_url=stack.payment_url,
            inventory_url=stack.inventory_url,
            notification_url=stack.config.notification_url,
            temporal_address=stack.temporal_address,
            token=operator,
            deadline_seconds=int(CHAOS_TUNING["ORDER_SAGA_DEADLINE_SECONDS"]),
        )
        attempts, versions = asyncio.run(
            _read_histories(stack.temporal_address, [workflow_id(oid) for oid in wanted])
        )
    finally:
        for client in (orders, inventory, payment, notification, *customers.values()):
            client.close()
    dead_letters = (
        queue_depths(stack.config.broker_url, [DEAD_LETTER_QUEUE]).get(DEAD_LETTER_QUEUE, 0)
        if stack.config.rabbitmq_url
        else None
    )

    outcomes: Counter[str] = Counter()
    unexpected: list[UnexpectedOutcome] = []
    for order in planned:
        got = seen.get(order.placed_id, {})
        outcome = got.get("cancellation_reason") or got.get("status", "MISSING")
        outcomes[f"CANCELLED {outcome}" if got.get("status") == "CANCELLED" else outcome] += 1
        if got.get("status") in FINAL_ORDER_STATUSES and outcome != order.expected:
            unexpected.append({"order_id": order.placed_id, "expected": order.expected, "got": outcome})
    return ChaosReport(
        scenario=options.scenario.name,
        seed=options.seed,
        orders=options.orders,
        by_outcome=dict(sorted(outcomes.items())),
        unexpected=unexpected,
        not_final=sorted(set(wanted) - set(final)),
        faults_injected=faults,
        kills=dict(monkey.kills),
        restarts=dict(stack.restarts),
        attempts_beyond_first=attempts,
        sagas_by_version=dict(sorted(versions.items())),
        calls_beyond_first=_repeated_calls(stack.config.log_dir, wanted),
        breakers_opened=_breakers_opened(stack.config.log_dir),
        place_retries=sum(order.place_attempts - 1 for order in planned),
        seconds_to_final=_percentiles([_seconds_to_final(order) for order in final.values()]),
        duration_seconds=round(time.monotonic() - started, 1),
        mail=_mail_report(mail, wanted),
        broker_cuts=broker_proxy.cuts if broker_proxy else 0,
        dead_letters=dead_letters,
        audit=audit.as_json(),
    )

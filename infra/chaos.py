"""`sagactl chaos`: orders flow through a stack of its own while failures are injected, then the
audit proves that money and stock still add up.

A run starts a chaos-enabled, self-healing stack on free loopback ports, creates its own catalog and
accounts, places a seeded mix of orders (valid, out of stock, declined, unknown SKU) at a steady
rate, injects the scenario's failures while they flow, waits (bounded) until every order is final,
audits, and reports. Every loop here is bounded in count and time; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import httpx

from infra.audit import AuditReport, run_audit
from infra.rest import FINAL_ORDER_STATUSES, ApiError, RestClient, ServiceCallError, all_pages
from infra.stack import SERVICES, Stack, StackConfig
from observability.logs import parse_line
from saga_contract import NAMESPACE, workflow_id

FAULTS_PATH = "/internal/v1/faults"

# Settings of the stack a chaos run starts: breakers that recover in seconds, a saga deadline
# long enough that no injected failure should ever time a valid order out, and abuse limits raised
# out of the way (a run places orders faster than any one customer may: it tests resilience, not
# throttling).
CHAOS_TUNING = {
    "ORDER_SAGA_DEADLINE_SECONDS": "120",
    "BREAKER_FAIL_MAX": "5",
    "BREAKER_RESET_SECONDS": "3",
    "THROTTLE_REQUESTS": "100000/min",
    "THROTTLE_ORDER_PLACEMENTS": "100000/min",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    http_faults: dict
    """Fault config PUT on every service while the failures are injected."""
    kill: tuple[str, ...] = ()
    """Processes to SIGKILL, one at a time, chosen by the run's seeded RNG."""
    kill_every: float = 0.0
    outage: tuple[str, float] | None = None
    """(service, seconds): that service answers 503 to everything for that long."""


HTTP_FAULTS = {"error_rate": 0.1, "lost_ack_rate": 0.05, "latency_ms": [0, 150]}
# Local services answer in a millisecond, so a kill would rarely meet a call in flight; every
# scenario gives them the latency of a real network and database instead.
REAL_LATENCY = {"latency_ms": [20, 150]}
OUTAGE = ("payment", 8.0)  # longer than the breaker's 3 s reset time

SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("http-faults", "5xx, latency and lost replies on all three services", http_faults=HTTP_FAULTS),
        Scenario("worker-kill", "SIGKILL the worker every few seconds", http_faults=REAL_LATENCY,
                 kill=("worker",), kill_every=4.0),
        Scenario("service-kill", "SIGKILL a service or the outbox relay mid-traffic", http_faults=REAL_LATENCY,
                 kill=(*SERVICES, "relay"), kill_every=5.0),
        Scenario("temporal-restart", "SIGKILL the Temporal dev server", http_faults=REAL_LATENCY,
                 kill=("temporal",), kill_every=8.0),
        Scenario("outage", "payment_svc down for longer than its breaker's reset time",
                 http_faults=REAL_LATENCY, outage=OUTAGE),
        Scenario(
            "mixed",
            "all of the above at once",
            http_faults=HTTP_FAULTS,
            kill=("worker", "temporal", "relay", *SERVICES),
            kill_every=4.0,
            outage=OUTAGE,
        ),
    )
}


@dataclass
class PlannedOrder:
    customer_id: str
    items: dict[str, int]
    expected: str
    """"CONFIRMED", or the cancellation reason the order must end with."""
    order_id: str | None = None
    placed_at: float | None = None
    place_attempts: int = 0


@dataclass
class Catalog:
    """What a run creates for itself: SKUs with plenty of stock, one without, rich and poor customers."""

    plentiful: dict[str, int]  # sku -> price in cents
    scarce: str
    rich: list[str]
    poor: str
    unknown: str

    @classmethod
    def make(cls, run_id: str, rng: random.Random) -> Catalog:
        return cls(
            plentiful={f"{run_id}-SKU{i}": rng.randrange(200, 5000, 10) for i in range(6)},
            scarce=f"{run_id}-SCARCE",
            rich=[f"{run_id}-rich{i}" for i in range(8)],
            poor=f"{run_id}-poor",
            unknown=f"{run_id}-GHOST",
        )

    def create(self, inventory: RestClient, payment: RestClient, orders: int) -> None:
        for sku, price in self.plentiful.items():
            inventory.check(inventory.post("/api/v1/products", {
                "sku": sku, "name": f"Chaos {sku}", "price_cents": price, "on_hand": orders * 10}))
        inventory.check(inventory.post("/api/v1/products", {
            "sku": self.scarce, "name": "Never in stock", "price_cents": 999, "on_hand": 0}))
        for customer in self.rich:
            payment.check(payment.post("/api/v1/accounts", {"customer_id": customer, "balance_cents": 10**10}))
        payment.check(payment.post("/api/v1/accounts", {"customer_id": self.poor, "balance_cents": 100}))

    def plan(self, count: int, rng: random.Random) -> list[PlannedOrder]:
        """A realistic mix: about 70 % valid, 10 % each out of stock, declined, unknown SKU."""
        planned = []
        for _ in range(count):
            items = {sku: rng.randint(1, 3) for sku in rng.sample(sorted(self.plentiful), rng.randint(1, 3))}
            roll = rng.random()
            if roll < 0.7:
                planned.append(PlannedOrder(rng.choice(self.rich), items, "CONFIRMED"))
            elif roll < 0.8:
                planned.append(PlannedOrder(rng.choice(self.rich), {**items, self.scarce: 1}, "out_of_stock"))
            elif roll < 0.9:
                planned.append(PlannedOrder(self.poor, items, "payment_declined"))
            else:
                planned.append(PlannedOrder(rng.choice(self.rich), {**items, self.unknown: 1}, "unknown_sku"))
        return planned


@dataclass
class ChaosReport:
    scenario: str
    seed: int
    orders: int
    by_outcome: dict[str, int]
    unexpected: list[dict]
    """Orders that ended otherwise than their kind demands (a valid order cancelled, say)."""
    not_final: list[str]
    faults_injected: dict[str, int]
    kills: dict[str, int]
    restarts: dict[str, int]
    attempts_beyond_first: int
    """Temporal activity attempts past the first."""
    calls_beyond_first: int
    """HTTP requests the services received for an order step they had already been asked for."""
    place_retries: int
    seconds_to_final: dict[str, float]
    duration_seconds: float
    audit: dict = field(default_factory=dict)
    """The audit's report as JSON (infra.audit.AuditReport.as_json)."""

    @property
    def violations(self) -> int:
        return sum(len(result["violations"]) for result in self.audit["invariants"])

    @property
    def ok(self) -> bool:
        return self.audit["ok"] and self.violations == 0 and not self.unexpected and not self.not_final

    def as_json(self) -> dict:
        return {**asdict(self), "violations": self.violations, "ok": self.ok}


class _Monkey:
    """Injects one scenario's failures on a schedule until told to stop (or its time runs out)."""

    def __init__(self, stack: Stack, scenario: Scenario, rng: random.Random, log) -> None:
        self.stack, self.scenario, self.rng, self.log = stack, scenario, rng, log
        self.faults = _Faults(stack)
        self.kills: Counter[str] = Counter()
        self.stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-monkey", daemon=True)
        self._outage_until: float | None = None
        self._outage_done = False

    def start(self) -> None:
        for service in _FAULTED:
            self.faults.put(service, self.scenario.http_faults)
        self.log(f"faults on: {self.scenario.http_faults}")
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        next_kill = started + 1.0
        outage_at = started + 2.0 if self.scenario.outage else None
        while not self.stopped.wait(0.1):
            now = time.monotonic()
            if outage_at is not None and now >= outage_at:
                service, seconds = self.scenario.outage
                self.faults.put(service, {"error_rate": 1.0})
                self.log(f"outage: {service}_svc down for {seconds:.0f} s")
                self._outage_until, outage_at = now + seconds, None
            if self._outage_until is not None and now >= self._outage_until:
                self._end_outage()
            if self.scenario.kill and now >= next_kill:
                target = self.rng.choice(self.scenario.kill)
                # Kill only what is up: a process still coming back is not yet serving anything.
                if self._is_up(target) and self.stack.kill(target, signal.SIGKILL):
                    self.kills[target] += 1
                    self.log(f"SIGKILL {target}")
                    next_kill = now + self.scenario.kill_every

    def _is_up(self, name: str) -> bool:
        """Not killed since it was last ready: its last supervision event, if any, says it is back."""
        events = [event for event in self.stack.events if event.name == name]
        return not events or events[-1].description.startswith("is back")

    def _end_outage(self) -> None:
        service, _ = self.scenario.outage
        self.faults.put(service, self.scenario.http_faults)
        self._outage_until, self._outage_done = None, True
        self.log(f"outage over: {service}_svc back")

    @property
    def injected_enough(self) -> bool:
        """Every kind of failure the scenario names has happened at least once: a kill, the outage,
        and each HTTP fault it sets a rate for (a short run may otherwise see no lost reply at all)."""
        kills_done = not self.scenario.kill or sum(self.kills.values()) >= 1
        if not (kills_done and (not self.scenario.outage or self._outage_done)):
            return False
        wanted = [kind for kind, rate in (("error", "error_rate"), ("lost_ack", "lost_ack_rate"))
                  if self.scenario.http_faults.get(rate)]
        if not wanted:
            return True
        injected = self.faults.injected()
        return all(injected[kind] > 0 for kind in wanted)

    def stop(self) -> dict[str, int]:
        """Stop injecting, switch faults off, and return what the services counted."""
        self.stopped.set()
        self._thread.join(timeout=10)
        if self._outage_until is not None:
            self._end_outage()
        injected = self.faults.injected()
        for service in _FAULTED:
            self.faults.clear(service)
        return dict(injected)


class _Log:
    """Timestamped lines for the person watching."""

    def __init__(self, printer) -> None:
        self.printer, self.started = printer, time.monotonic()

    def __call__(self, line: str) -> None:
        self.printer(f"[{time.monotonic() - self.started:6.1f} s] {line}")


_FAULTED = ("order", "payment", "inventory")


class _Faults:
    """The services' fault endpoints, called as an operator (one token for the whole run)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.headers = {"Authorization": f"Bearer {stack.config.local_keys().operator_token()}"}

    def put(self, service: str, config: dict) -> None:
        _with_retries(lambda: httpx.put(self._url(service), json=config, headers=self.headers, timeout=5)
                      .raise_for_status())

    def clear(self, service: str) -> None:
        _with_retries(lambda: httpx.delete(self._url(service), headers=self.headers, timeout=5).raise_for_status())

    def injected(self) -> Counter[str]:
        """The faults every service injected since its last clear, summed by kind."""
        injected: Counter[str] = Counter()
        for service in _FAULTED:
            injected.update(_with_retries(lambda: httpx.get(
                self._url(service), headers=self.headers, timeout=5).raise_for_status().json())["injected"])
        return injected

    def _url(self, service: str) -> str:
        return f"{self.stack.config.service_url(f'{service}_svc')}{FAULTS_PATH}"


def _with_retries(call, *, seconds: float = 30.0):
    """The faults endpoint of a service that is being restarted answers again within seconds."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except httpx.HTTPError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.25)


def _place(orders: RestClient, planned: PlannedOrder, *, patience: float = 60.0) -> None:
    """POST the order as a careful client would: on a 5xx, an in-flight key or no answer, the same
    request again with the same Idempotency-Key, until accepted or out of patience."""
    body = {"customer_id": planned.customer_id,
            "items": [{"sku": sku, "quantity": qty} for sku, qty in planned.items.items()]}
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
            retryable = error.status >= 500 or error.code == "idempotency_in_flight"
            if not retryable or time.monotonic() >= deadline:
                raise
        except ServiceCallError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(min(2.0, 0.2 * planned.place_attempts))


def _seconds_to_final(order: dict) -> float:
    return (datetime.fromisoformat(order["updated_at"]) - datetime.fromisoformat(order["created_at"])).total_seconds()


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(ordered[max(0, int(len(ordered) * 0.99 + 0.5) - 1)], 3),
        "max": round(ordered[-1], 3),
    }


async def _attempts_beyond_first(temporal_address: str, workflow_ids: list[str]) -> int:
    """Activity attempts past the first, summed over the workflows' histories: the duplicates the
    system absorbed (each final attempt's number is recorded on its ActivityTaskStarted event)."""
    from temporalio.client import Client

    client = await Client.connect(temporal_address, namespace=NAMESPACE)
    semaphore = asyncio.Semaphore(16)

    async def extra(workflow_id: str) -> int:
        async with semaphore:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        return sum(
            event.activity_task_started_event_attributes.attempt - 1
            for event in history.events
            if event.HasField("activity_task_started_event_attributes")
        )

    return sum(await asyncio.gather(*(extra(workflow_id) for workflow_id in workflow_ids)))


def _repeated_calls(log_dir: Path, order_ids: set[str]) -> int:
    """Repeated POSTs per (service, path, order) in the services' request logs: inner retries,
    Temporal retries and replays alike, each one a duplicate the idempotency keys absorbed."""
    seen: Counter[tuple[str, str, str]] = Counter()
    for service in SERVICES:
        for raw in (log_dir / f"{service}.log").read_text().splitlines():
            line = parse_line(raw)
            if line is None:
                continue
            if line.get("logger") == "chassis.request" and line.get("method") == "POST" \
                    and line.get("order_id") in order_ids:
                seen[service, line["path"], line["order_id"]] += 1
    return sum(count - 1 for count in seen.values())


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


def run_chaos(stack: Stack, options: ChaosOptions, *, log=print, progress=None) -> ChaosReport:
    """Drive one scenario against a running, supervised, chaos-enabled stack and report."""
    rng = random.Random(options.seed)
    run_id = f"C{options.seed}-{uuid.uuid4().hex[:6]}".upper()
    say = _Log(log)
    started = time.monotonic()
    keys = stack.config.local_keys()
    operator = keys.operator_token()
    orders = RestClient("order_svc", stack.order_url, token=operator, timeout=30)
    inventory = RestClient("inventory_svc", stack.inventory_url, token=operator, timeout=30)
    payment = RestClient("payment_svc", stack.payment_url, token=operator, timeout=30)
    catalog = Catalog.make(run_id, rng)
    # Each customer places its own orders, with its own token, like any client.
    customers = {
        customer: RestClient("order_svc", stack.order_url, token=keys.customer_token(customer), timeout=30)
        for customer in [*catalog.rich, catalog.poor]
    }
    try:
        catalog.create(inventory, payment, options.orders)
        planned = catalog.plan(options.orders, rng)
        say(f"{options.scenario.name}: {options.orders} orders at {options.rate:g}/s, concurrency {options.concurrency}")

        monkey = _Monkey(stack, options.scenario, rng, say)
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

        wanted = {order.order_id for order in planned}
        deadline = time.monotonic() + options.timeout
        while True:
            seen = {o["id"]: o for o in all_pages(orders, "/api/v1/orders") if o["id"] in wanted}
            final = {oid: o for oid, o in seen.items() if o["status"] in FINAL_ORDER_STATUSES}
            if progress:
                progress("final", len(final))
            if len(final) == len(wanted) or time.monotonic() >= deadline:
                break
            time.sleep(0.5)

        say("auditing")
        audit: AuditReport = run_audit(
            order_url=stack.order_url, payment_url=stack.payment_url, inventory_url=stack.inventory_url,
            temporal_address=stack.temporal_address,
            token=operator,
            deadline_seconds=int(CHAOS_TUNING["ORDER_SAGA_DEADLINE_SECONDS"]),
        )
        attempts = asyncio.run(_attempts_beyond_first(stack.temporal_address, [workflow_id(oid) for oid in wanted]))
    finally:
        for client in (orders, inventory, payment, *customers.values()):
            client.close()

    outcomes = Counter()
    unexpected = []
    for order in planned:
        got = seen.get(order.order_id, {})
        outcome = got.get("cancellation_reason") or got.get("status", "MISSING")
        outcomes[f"CANCELLED {outcome}" if got.get("status") == "CANCELLED" else outcome] += 1
        if got.get("status") in FINAL_ORDER_STATUSES and outcome != order.expected:
            unexpected.append({"order_id": order.order_id, "expected": order.expected, "got": outcome})
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
        calls_beyond_first=_repeated_calls(stack.config.log_dir, wanted),
        place_retries=sum(order.place_attempts - 1 for order in planned),
        seconds_to_final=_percentiles([_seconds_to_final(order) for order in final.values()]),
        duration_seconds=round(time.monotonic() - started, 1),
        audit=audit.as_json(),
    )


def print_report(report: ChaosReport, console) -> None:
    from rich.table import Table

    table = Table(title=f"chaos {report.scenario}: {report.orders} orders, seed {report.seed}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for outcome, count in report.by_outcome.items():
        table.add_row(f"  {outcome}", str(count))
    table.add_row("unexpected outcomes", str(len(report.unexpected)))
    table.add_row("not final", str(len(report.not_final)))
    table.add_row("faults injected", ", ".join(f"{k} {v}" for k, v in report.faults_injected.items()) or "none")
    table.add_row("processes killed", ", ".join(f"{k} {v}" for k, v in report.kills.items()) or "none")
    table.add_row("processes restarted", ", ".join(f"{k} {v}" for k, v in report.restarts.items() if v) or "none")
    table.add_row("activity attempts beyond the first", str(report.attempts_beyond_first))
    table.add_row("service calls beyond the first", str(report.calls_beyond_first))
    table.add_row("order placements retried", str(report.place_retries))
    table.add_row("time to final", "p50 {p50:.2f} s, p99 {p99:.2f} s, max {max:.2f} s".format(**report.seconds_to_final))
    table.add_row("invariant violations", str(report.violations))
    table.add_row("run took", f"{report.duration_seconds:.0f} s")
    console.print(table)
    for result in report.audit["invariants"]:
        for violation in result["violations"]:
            console.print(f"  violation {violation['invariant']}: {violation['subject']}: {violation['detail']}")
    for order in report.unexpected:
        console.print(f"  unexpected: order {order['order_id']} expected {order['expected']}, got {order['got']}")
    console.print("[bold green]OK[/]" if report.ok else "[bold red]FAILED[/]")


def write_json(report: ChaosReport, path: Path) -> None:
    path.write_text(json.dumps(report.as_json(), indent=2))


def command(args, *, root_var_dir: Path) -> NoReturn:
    """`sagactl chaos`: start a stack of its own under `root_var_dir`/chaos, run the scenario,
    report, stop the stack.

    Exit 0 when every order is final as its kind demands and the audit finds no violation, 1
    otherwise. Leaves through os._exit: a process that used temporalio can crash at exit.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(highlight=False)
    code = 1
    var_dir = root_var_dir / "chaos" / f"{args.scenario}-{time.strftime('%Y%m%d-%H%M%S')}"
    options = ChaosOptions(
        SCENARIOS[args.scenario], orders=args.orders, concurrency=args.concurrency, seed=args.seed,
        rate=args.rate, timeout=args.timeout,
    )
    stack = Stack(StackConfig.on_free_ports(var_dir, chaos=True, tuning=CHAOS_TUNING))
    try:
        console.print(f"chaos {args.scenario}: starting a stack of its own (logs in {var_dir / 'logs'})")
        stack.start()
        stack.supervise()
        console.print(f"Temporal Web UI of this run: {stack.config.ui_url}")
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console,
        ) as bar:
            placed = bar.add_task("placed", total=args.orders)
            final = bar.add_task("final ", total=args.orders)

            def progress(kind: str, count: int | None = None) -> None:
                if kind == "placed":
                    bar.advance(placed)
                else:
                    bar.update(final, completed=count)

            report = run_chaos(stack, options, log=bar.console.print, progress=progress)
        print_report(report, console)
        if args.json:
            write_json(report, args.json)
        code = 0 if report.ok else 1
    except KeyboardInterrupt:
        code = 130
    except Exception:
        console.print_exception()
    finally:
        stack.stop()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def add_command(commands) -> None:
    """Register `sagactl chaos` on sagactl's subcommands."""
    chaos = commands.add_parser(
        "chaos", help="inject failures while orders flow through a stack of its own, then audit"
    )
    chaos.add_argument("scenario", choices=sorted(SCENARIOS), help="; ".join(
        f"{s.name}: {s.summary}" for s in SCENARIOS.values()))
    chaos.add_argument("--orders", type=_positive(int), required=True, metavar="N")
    chaos.add_argument("--concurrency", type=_positive(int), default=4, metavar="C")
    chaos.add_argument("--seed", type=int, default=1, metavar="S", help="the order mix and kill targets")
    chaos.add_argument("--rate", type=_positive(float), default=5.0, metavar="R", help="orders per second")
    chaos.add_argument("--timeout", type=_positive(float), default=300.0, metavar="S",
                       help="seconds to wait for every order to be final once all are placed")
    chaos.add_argument("--json", type=Path, metavar="FILE", help="also write the report to FILE as JSON")
    chaos.set_defaults(run=lambda args: command(args, root_var_dir=StackConfig.from_env().var_dir))


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise ValueError(text)
        return value

    parse.__name__ = kind.__name__
    return parse

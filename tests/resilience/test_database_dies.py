"""A database that dies: the services run on a PostgreSQL server of the test's own, whose postmaster
is SIGKILLed while orders flow, kept down longer than the breakers' reset time, and started again on
the same port and data. While it is down every request answers 503 in the error shape within its
timeout and /readyz says not ready; the sagas wait and resume; afterwards every order is final as its
kind demands, the audit finds no violation and no idempotency key is left in flight."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from infra.chaos import CHAOS_TUNING, ChaosOptions, Scenario, run_chaos
from infra.pg_server import ThrowawayPostgres, unavailable_reason
from infra.rest import RestClient, all_pages
from infra.stack import ALL_SERVICES, Stack, StackConfig
from observability.logs import parse_line

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

ORDERS = 30
RATE = 2.0  # orders per second: they flow for 15 s, from before the kill until after the restart
KILL_AFTER_SECONDS = 3.0  # counted from the run's first order: on a busy host its catalog takes a while
DOWN_SECONDS = 9.0  # longer than the chaos stack's breakers wait before a trial call (3 s)
REQUEST_TIMEOUT_SECONDS = 10.0
# The saga's payment calls take 1-2 s, so that sagas are in flight when the server dies, whatever the
# machine's speed; the probes' paths get no latency: how long they take to fail is measured, not made up.
DATABASE_KILL = Scenario(
    "database-kill",
    "SIGKILL the services' PostgreSQL server",
    http_faults={"latency_ms": [1000, 2000], "paths": ["/internal/v1/payments/"]},
)


@dataclass
class Probe:
    """One request sent while the database was down, and how it was answered."""

    what: str
    status: int | None
    body: dict
    seconds: float


@dataclass
class Outage:
    """Kills the server a while after the run's first order, probes the services while it is down,
    starts it again and waits until every service is ready; what it saw, for the assertions and the docs."""

    server: ThrowawayPostgres
    stack: Stack
    sku: str
    probes: list[Probe] = field(default_factory=list)
    killed_at: float = 0.0  # seconds since the epoch
    restarted_at: float = 0.0
    server_start_seconds: float = 0.0
    ready_after_seconds: float | None = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        keys = self.stack.config.tokens()  # minted now: identity_svc's database dies with the others
        self.operator = {"Authorization": f"Bearer {keys.operator_token()}"}
        self.customer = {"Authorization": f"Bearer {keys.customer_token('probe-customer')}"}
        self.thread = threading.Thread(target=self._run, name="database-outage", daemon=True)

    def _run(self) -> None:
        try:
            self._wait_first_order(timeout=60)
            time.sleep(KILL_AFTER_SECONDS)
            self.server.kill()
            self.killed_at = time.time()
            with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
                while time.time() < self.killed_at + DOWN_SECONDS:
                    self._probe_once(client)
                    time.sleep(0.5)
            self.server_start_seconds = self.server.start()
            self.restarted_at = time.time()
            self.ready_after_seconds = self._wait_all_ready(timeout=60)
        except BaseException as error:  # seen by the test, which fails on it
            self.error = error

    def _wait_first_order(self, *, timeout: float) -> None:
        url = self.stack.config.database_urls["order_svc"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with psycopg.connect(url, connect_timeout=5) as connection:
                if connection.execute("SELECT EXISTS (SELECT 1 FROM orders_order)").fetchone() == (True,):
                    return
            time.sleep(0.2)
        raise TimeoutError(f"no order was placed within {timeout:.0f} s")

    def _probe_once(self, client: httpx.Client) -> None:
        config = self.stack.config
        for service in ALL_SERVICES:
            self._send(client, f"{service} readyz", "GET", f"{config.service_url(service)}/readyz")
        self._send(
            client,
            "inventory_svc read a product",
            "GET",
            f"{config.inventory_url}/api/v1/products/{self.sku}",
            headers=self.operator,
        )
        self._send(
            client,
            "payment_svc read payments",
            "GET",
            f"{config.payment_url}/api/v1/payments",
            headers=self.operator,
        )
        self._send(
            client,
            "order_svc place an order",
            "POST",
            f"{config.order_url}/api/v1/orders",
            headers=self.customer | {"Idempotency-Key": str(uuid.uuid4())},
            json={"items": [{"sku": self.sku, "quantity": 1}]},
        )

    def _send(self, client: httpx.Client, what: str, method: str, url: str, **kwargs: object) -> None:
        began = time.monotonic()
        try:
            response = client.request(method, url, **kwargs)  # type: ignore[arg-type]  # httpx's keyword arguments, passed through
            status, body = response.status_code, response.json()
        except httpx.HTTPError:
            status, body = None, {}
        self.probes.append(Probe(what, status, body, time.monotonic() - began))

    def _wait_all_ready(self, *, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        waiting = set(ALL_SERVICES)
        while waiting and time.monotonic() < deadline:
            for service in sorted(waiting):
                try:
                    url = f"{self.stack.config.service_url(service)}/readyz"
                    if httpx.get(url, timeout=5).status_code == 200:
                        waiting.discard(service)
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        return None if waiting else time.time() - self.restarted_at


@pytest.fixture(scope="module")
def postgres() -> ThrowawayPostgres:
    with ThrowawayPostgres() as server:
        yield server


def _in_flight_keys(urls: dict[str, str]) -> dict[str, int]:
    """Idempotency records still IN_FLIGHT, per service database."""
    counts = {}
    for service, url in urls.items():
        with psycopg.connect(url, connect_timeout=5) as connection:
            row = connection.execute(
                "SELECT count(*) FROM idempotency_idempotencyrecord WHERE state = 'IN_FLIGHT'"
            ).fetchone()
            counts[service] = row[0] if row else 0
    return counts


def _server_errors(log_dir: Path) -> list[dict]:
    """Every answer of a service that was a 5xx other than 503."""
    lines = [
        parse_line(raw)
        for service in ALL_SERVICES
        for raw in (log_dir / f"{service}.log").read_text().splitlines()
    ]
    return [
        line
        for line in lines
        if line
        and line.get("logger") == "chassis.request"
        and line.get("status", 0) >= 500
        and line["status"] != 503
    ]


def test_the_database_killed_while_orders_flow(postgres, tmp_path):
    config = StackConfig.on_free_ports(
        tmp_path / "var", chaos=True, tuning=CHAOS_TUNING, postgres_url=postgres.url
    )
    with Stack(config) as stack:
        stack.supervise()
        operator = stack.config.tokens().operator_token()
        with RestClient("inventory_svc", stack.inventory_url, token=operator, timeout=30) as inventory:
            sku = f"PROBE-{uuid.uuid4().hex[:8]}"
            inventory.check(
                inventory.post(
                    "/api/v1/products", {"sku": sku, "name": "Probe", "price_cents": 100, "on_hand": 0}
                )
            )
        outage = Outage(postgres, stack, sku)
        outage.thread.start()
        report = run_chaos(stack, ChaosOptions(DATABASE_KILL, orders=ORDERS, rate=RATE, seed=11))
        outage.thread.join(timeout=90)
        in_flight = _in_flight_keys(config.own_databases())
        with RestClient("order_svc", stack.order_url, token=operator, timeout=30) as orders:
            final = list(all_pages(orders, "/api/v1/orders"))

    assert outage.error is None, outage.error
    assert outage.killed_at, "the server was killed"
    assert outage.restarted_at, "the server was started again"

    # While it was down: 503 in the error shape, quickly, for every request.
    assert outage.probes
    for probe in outage.probes:
        assert probe.status == 503, probe
        assert set(probe.body) == {"code", "message", "details"}, probe
        assert probe.seconds < REQUEST_TIMEOUT_SECONDS, probe
    readiness = [probe for probe in outage.probes if probe.what.endswith("readyz")]
    api = [probe for probe in outage.probes if not probe.what.endswith("readyz")]
    assert {probe.body["code"] for probe in readiness} == {"not_ready"}
    # A worker process that never fetched identity_svc's keys cannot fetch them now: auth_unavailable.
    assert {probe.body["code"] for probe in api} <= {"database_unavailable", "auth_unavailable"}
    assert "database_unavailable" in {probe.body["code"] for probe in api}
    assert _server_errors(config.log_dir) == []

    # The sagas waited, behind open breakers, and resumed.
    assert outage.ready_after_seconds is not None, "a service never became ready again"
    assert sum(report.breakers_opened.values()) > 0, "no breaker opened while the database was down"
    assert report.attempts_beyond_first > 0

    # Afterwards: every order final as its kind demands, nothing lost or done twice.
    assert report.unexpected == []
    assert report.not_final == []
    assert sum(report.by_outcome.values()) == ORDERS
    assert report.violations == 0, report.audit
    assert in_flight == dict.fromkeys(config.own_databases(), 0)
    confirmed_after = sorted(
        datetime.fromisoformat(order["updated_at"]).timestamp() - outage.restarted_at
        for order in final
        if order["status"] == "CONFIRMED"
        and datetime.fromisoformat(order["updated_at"]).timestamp() >= outage.restarted_at
    )
    assert confirmed_after, "no order was confirmed after the restart"
    fail_times = sorted(probe.seconds for probe in api)
    print(
        f"\ndatabase down {outage.restarted_at - outage.killed_at:.1f} s: {len(outage.probes)} requests "
        f"answered 503, the API's in p50 {fail_times[len(fail_times) // 2] * 1000:.0f} ms, "
        f"max {fail_times[-1] * 1000:.0f} ms; the server back in {outage.server_start_seconds:.2f} s, "
        f"every service ready {outage.ready_after_seconds:.1f} s later; the first order confirmed "
        f"{confirmed_after[0]:.1f} s after the restart, the last {confirmed_after[-1]:.1f} s; time to final "
        f"p50 {report.seconds_to_final['p50']} s, max {report.seconds_to_final['max']} s; activity attempts "
        f"beyond the first {report.attempts_beyond_first}, placements retried {report.place_retries}; "
        f"breakers opened {report.breakers_opened}"
    )

"""Fixtures of the audit tests: one real stack for the module (fault injection on, a 5 s saga deadline,
so one saga can be made to time out), orders that end in every way the stack can end them, and a
saboteur that corrupts a service's state behind its API, through that service's own Django.
"""

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from infra.stack import Stack, StackConfig
from tests.support.api import Api, unique
from tests.support.waiting import wait_for

SAGA_DEADLINE_SECONDS = 10  # covers the reservation and the 3.5 s authorization below, on a busy machine
TUNING = {"ORDER_SAGA_DEADLINE_SECONDS": str(SAGA_DEADLINE_SECONDS), "BREAKER_FAIL_MAX": "1000"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("audit-stack"), chaos=True, tuning=TUNING)
    with Stack(config) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[Api]:
    with Api.for_stack(stack) as client:
        yield client


@pytest.fixture(scope="module")
def orders(stack: Stack, api: Api) -> dict[str, dict]:
    """Final orders by outcome: confirmed, confirmed_single, and one CANCELLED per reason."""
    a = api.create_product(price_cents=1_000, on_hand=10)["sku"]
    b = api.create_product(price_cents=250, on_hand=5)["sku"]
    scarce = api.create_product(price_cents=5_000, on_hand=1)["sku"]
    rich = api.create_account(balance_cents=100_000)["customer_id"]
    poor = api.create_account(balance_cents=100)["customer_id"]
    placed = {
        "confirmed": api.place_order(rich, {a: 2, b: 1}),
        "confirmed_single": api.place_order(rich, {a: 1}),
        "out_of_stock": api.place_order(rich, {scarce: 2}),
        "payment_declined": api.place_order(poor, {b: 1}),
        "unknown_sku": api.place_order(rich, {a: 1, unique("GHOST").upper(): 1}),
    }
    final = {name: api.wait_for_final(order["id"], timeout=30) for name, order in placed.items()}

    # Every authorization answered 503 until the deadline: the saga compensates and cancels, timed_out.
    api.payment.http.put(
        "/api/v1/faults", json={"error_rate": 1.0, "paths": ["/internal/v1/payments/authorize"]}
    ).raise_for_status()
    try:
        final["timed_out"] = api.wait_for_final(api.place_order(rich, {b: 2})["id"], timeout=30)
    finally:
        api.payment.http.delete("/api/v1/faults").raise_for_status()

    # The customer cancels while its payment is being authorized: 202, then compensated. The hold is
    # the cancel's window, since once authorized the saga passes its pivot and a cancel gets 409: 3.5 s
    # for seeing the step run and sending the cancel on a machine busy with other stacks, within the
    # worker's 5 s read timeout and the saga's deadline.
    api.payment.http.put(
        "/api/v1/faults", json={"latency_ms": [3500, 3500], "paths": ["/internal/v1/payments/authorize"]}
    ).raise_for_status()
    try:
        order = api.place_order(rich, {a: 1})
        customer = api.customer(rich)
        wait_for(
            lambda: _step_state(customer, order["id"], "authorize_payment") == "running",
            10,
            "the authorization to be under way",
        )
        cancel = customer.post(f"/api/v1/orders/{order['id']}/cancel", {})
        assert cancel.status_code == 202, cancel.text
        final["customer_cancelled"] = api.wait_for_final(order["id"], timeout=30)
    finally:
        api.payment.http.delete("/api/v1/faults").raise_for_status()

    for name, order in final.items():
        expected = ("CONFIRMED", None) if name.startswith("confirmed") else ("CANCELLED", name)
        assert (order["status"], order["cancellation_reason"]) == expected, order

    # Each customer told: the audit's notifications check then has no notification still on its way.
    def all_sent() -> bool:
        listed = api.notification.check(
            api.notification.get("/api/v1/notifications", params={"page_size": "100"})
        )
        sent = {n["order_id"] for n in listed["results"] if n["status"] == "SENT"}
        return {order["id"] for order in final.values()} <= sent

    wait_for(all_sent, 30, "every final order's notification sent")
    return final


def _step_state(orders, order_id: str, step: str) -> str | None:
    saga = orders.get(f"/api/v1/orders/{order_id}/saga").json()
    return next((s["state"] for s in saga.get("steps", []) if s["name"] == step), None)


class Saboteur:
    """Changes a service's data behind its API, as only someone with access to its database could: runs
    Python in the service's `manage.py shell`, with the environment the stack gives the service."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config

    def run(self, service: str, code: str) -> None:
        env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
        env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "SAGA_VAR_DIR": str(self.config.var_dir)}
        if service in self.config.database_urls:
            env["DATABASE_URL"] = self.config.database_urls[service]
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "--verbosity", "0", "--command", textwrap.dedent(code)],
            cwd=self.config.root / service,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr


@pytest.fixture
def sabotage(stack: Stack) -> Iterator:
    """`sabotage(service, do, undo)` runs `do` now and `undo` once the test is over, so one test's
    corruption never leaks into the next."""
    saboteur = Saboteur(stack.config)
    undos: list[tuple[str, str]] = []

    def corrupt(service: str, do: str, undo: str) -> None:
        undos.append((service, undo))
        saboteur.run(service, do)

    yield corrupt
    for service, undo in reversed(undos):
        saboteur.run(service, undo)

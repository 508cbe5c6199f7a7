"""Self-healing on the real stack (Temporal dev server, three gunicorn services, the worker), supervised:
payment_svc's gunicorn master, the worker and the Temporal dev server are SIGKILLed in turn; each comes
back with a log line naming what died and how, and every order placed around the kills is CONFIRMED.
"""

import logging
import os
import signal
import subprocess

import httpx

from infra.stack import BIN_DIR, Stack, StackConfig
from tests.support.api import Api
from tests.support.waiting import wait_for


def temporal_answers(address: str) -> bool:
    health = subprocess.run(
        [str(BIN_DIR / "temporal"), "operator", "cluster", "health", "--address", address],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return health.returncode == 0 and "SERVING" in health.stdout


def wait_until_back(stack: Stack, name: str, restart: int) -> None:
    back = f"is back after restart {restart} "
    wait_for(
        lambda: any(event.name == name and event.description.startswith(back) for event in stack.events),
        45,
        f"{name} to come back",
        interval=0.2,
    )


def test_killed_processes_come_back_and_orders_placed_around_the_kills_are_confirmed(
    tmp_path, marker, caplog
):
    caplog.set_level(logging.INFO, logger="infra.stack")
    with Stack(StackConfig.on_free_ports(tmp_path / "var")) as stack, Api.for_stack(stack) as api:
        stack.supervise()
        sku = api.create_product(price_cents=700, on_hand=10)["sku"]
        customer = api.create_account(balance_cents=10_000)["customer_id"]
        orders = []

        # The master alone, as `kill -9 <pid>` would: its workers linger, holding the port, until ended.
        orders.append(api.place_order(customer, {sku: 1})["id"])
        os.kill(stack.processes["payment_svc"].pid, signal.SIGKILL)
        wait_until_back(stack, "payment_svc", 1)
        assert httpx.get(f"{stack.payment_url}/readyz").status_code == 200

        orders.append(api.place_order(customer, {sku: 1})["id"])
        assert stack.kill("worker")
        wait_until_back(stack, "worker", 1)

        orders.append(api.place_order(customer, {sku: 1})["id"])
        assert stack.kill("temporal")
        wait_until_back(stack, "temporal", 1)
        assert temporal_answers(stack.temporal_address)

        orders.append(api.place_order(customer, {sku: 1})["id"])
        statuses = [api.wait_for_final(order_id, timeout=60)["status"] for order_id in orders]

        assert statuses == ["CONFIRMED"] * 4
        killed = {"payment_svc": 1, "worker": 1, "temporal": 1}
        assert stack.restarts == dict.fromkeys(stack.processes, 0) | killed
        assert api.get_product(sku)["on_hand"] == 6
        assert api.get_account(customer)["balance_cents"] == 10_000 - 4 * 700
    for name in ("payment_svc", "worker", "temporal"):
        assert f"{name} was killed by SIGKILL; restarting in 0.5 s (restart 1)" in caplog.messages

"""What a bench run stands on: the stack's tuning, the floor's worker process beside it, and the
products and customers (with their tokens) its orders use."""

from __future__ import annotations

import os
import sys
import time

from infra.bench.measure import FLOOR_TASK_QUEUE, ITEMS, Target
from infra.rest import RestClient
from infra.stack import ManagedProcess, Stack, StackConfig
from saga_contract import NAMESPACE


FLOOR_KINDS = ("activities", "local")

# The bench measures cost, not abuse limits: it raises them out of the way, and says so.
BENCH_TUNING = {"THROTTLE_REQUESTS": "1000000/min", "THROTTLE_ORDER_PLACEMENTS": "1000000/min"}

ORDER_PRICE_CENTS = 100


def floor_worker(config: StackConfig, kind: str) -> ManagedProcess:
    local = ["--local-activities"] if kind == "local" else []
    return ManagedProcess(
        "floor_worker",
        [sys.executable, "-m", "infra.bench.floor_worker", "--address", config.temporal_address,
         "--namespace", NAMESPACE, "--task-queue", FLOOR_TASK_QUEUE, *local],
        cwd=config.root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        log_path=config.log_dir / "floor_worker.log",
    )


def prepare(stack: Stack, customers: int, orders: int) -> Target:
    """Products with stock for every order of the run, and `customers` rich customers with tokens."""
    keys = stack.config.local_keys()
    operator = keys.operator_token()
    run = f"B{time.strftime('%H%M%S')}"
    skus = [f"{run}-SKU{i}" for i in range(ITEMS)]
    ids = [f"{run}-c{i}" for i in range(customers)]
    with (
        RestClient("inventory_svc", stack.inventory_url, token=operator) as inventory,
        RestClient("payment_svc", stack.payment_url, token=operator) as payment,
    ):
        for sku in skus:
            inventory.check(inventory.post("/api/v1/products", {
                "sku": sku, "name": f"Bench {sku}", "price_cents": ORDER_PRICE_CENTS, "on_hand": orders + 10}))
        for customer in ids:
            payment.check(payment.post("/api/v1/accounts", {"customer_id": customer, "balance_cents": 10**12}))
    processes = {name: process.pid for name, process in stack.processes.items() if process.pid}
    return Target(
        temporal_address=stack.temporal_address,
        order_url=stack.order_url,
        customer_tokens=[keys.customer_token(customer, ttl_seconds=24 * 3600) for customer in ids],
        skus=skus,
        processes=processes,
    )

"""What does watching a saga from the storefront cost, against what the order itself costs?

Starts a stack of its own on free ports, places orders as a customer and waits, asking once a second,
until all have ended (the orders' own cost: every process's CPU, Temporal's included), then reads each final
order the way the storefront's order page does once a second, `GET /api/v1/orders/{id}` and
`GET /api/v1/orders/{id}/saga`, and prints the CPU of one such read against one order's. Figures, not
assertions; bounded by --orders and --reads.

    .venv/bin/python benchmarks/storefront_watch_cost.py [--orders 30] [--reads 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from infra.bench.procstats import cpu_seconds
from infra.rest import RestClient
from infra.stack import Stack, StackConfig

SKU = "WATCH-BENCH"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=30, help="orders placed, one at a time (at most 200)")
    parser.add_argument("--reads", type=int, default=300, help="order and saga reads (at most 2000)")
    args = parser.parse_args()
    orders, reads = min(args.orders, 200), min(args.reads, 2000)

    with tempfile.TemporaryDirectory(prefix="watch-bench-") as folder:
        config = StackConfig.on_free_ports(Path(folder))
        with Stack(config) as stack:
            tokens = config.tokens()
            operator = tokens.operator_token()
            inventory = RestClient("inventory_svc", config.inventory_url, token=operator)
            payment = RestClient("payment_svc", config.payment_url, token=operator)
            customer = RestClient("order_svc", config.order_url, token=tokens.customer_token("watcher"))
            inventory.check(
                inventory.post(
                    "/api/v1/products", {"sku": SKU, "name": "Bench", "price_cents": 100, "on_hand": 10**6}
                )
            )
            payment.check(
                payment.post("/api/v1/accounts", {"customer_id": "watcher", "balance_cents": 10**9})
            )
            groups = {
                name: process.pid for name, process in stack.processes.items() if process.pid is not None
            }

            _place_all(customer, 3)  # warm-up: the first requests load code and fill caches
            before = cpu_seconds(groups)
            ids = _place_all(customer, orders)
            order_cpu = _spent(before, cpu_seconds(groups))

            before = cpu_seconds(groups)
            for index in range(reads):
                order_id = ids[index % len(ids)]
                customer.check(customer.get(f"/api/v1/orders/{order_id}"))
                customer.check(customer.get(f"/api/v1/orders/{order_id}/saga"))
            read_cpu = _spent(before, cpu_seconds(groups))

    per_order = sum(order_cpu.values()) / orders * 1000
    per_read = sum(read_cpu.values()) / reads * 1000
    print(f"one order, placed and run to its end: {per_order:.1f} ms CPU")
    print(
        f"one watch of it (order + saga read):  {per_read:.1f} ms CPU = {per_read / per_order:.2f} of an order"
    )
    for name in sorted(read_cpu, key=lambda key: -read_cpu[key])[:3]:
        print(f"  {name:<12} {read_cpu[name] / reads * 1000:6.1f} ms per watch")


def _place_all(customer: RestClient, count: int) -> list[str]:
    """Place `count` orders, then wait until none is PENDING; their ids."""
    body = {"items": [{"sku": SKU, "quantity": 1}]}
    ids = [str(customer.check(customer.post("/api/v1/orders", body))["id"]) for _ in range(count)]
    deadline = time.monotonic() + 30 + count
    while customer.check(customer.get("/api/v1/orders", params={"status": "PENDING"}))["count"]:
        if time.monotonic() > deadline:
            raise SystemExit("orders still PENDING: the stack is not keeping up")
        time.sleep(1)
    return ids


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


if __name__ == "__main__":
    main()

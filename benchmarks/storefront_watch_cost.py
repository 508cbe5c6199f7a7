"""What does watching a saga from the storefront cost, against what the order itself costs?

Starts a stack of its own on free ports (abuse limits off) and measures every process's CPU, Temporal's
included, over three runs:

- orders placed one at a time, each followed by `GET /api/v1/orders/{id}` once a second until it is
  final (the order's own cost, with its idle seconds);
- the same, with `GET /api/v1/orders/{id}/saga` beside each read, as the storefront's order page
  refreshes: the difference is what watching the saga costs;
- final orders read again that way, as a customer coming back to one does.

Figures, not assertions; bounded by --orders and --reads.

    .venv/bin/python benchmarks/storefront_watch_cost.py [--orders 30] [--reads 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from infra.bench.procstats import cpu_seconds
from infra.bench.setup import BENCH_TUNING
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
        config = StackConfig.on_free_ports(Path(folder), tuning=BENCH_TUNING)  # abuse limits off
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

            for _ in range(3):  # warm-up: the first requests load code and fill caches
                _place_and_follow(customer, saga=True)
            before = cpu_seconds(groups)
            refreshes = sum(_place_and_follow(customer, saga=False) for _ in range(orders))
            order_cpu = _spent(before, cpu_seconds(groups))

            before = cpu_seconds(groups)
            watches = sum(_place_and_follow(customer, saga=True) for _ in range(orders))
            watched_cpu = _spent(before, cpu_seconds(groups))

            ids = [_place(customer) for _ in range(3)]
            while any(_refresh(customer, order_id, saga=False) == "PENDING" for order_id in ids):
                time.sleep(1)
            before = cpu_seconds(groups)
            for index in range(reads):
                _refresh(customer, ids[index % len(ids)], saga=True)
            read_cpu = _spent(before, cpu_seconds(groups))

    per_order = sum(order_cpu.values()) / orders * 1000
    per_watched = sum(watched_cpu.values()) / orders * 1000
    per_read = sum(read_cpu.values()) / reads * 1000
    print(
        f"one order, followed to its end by its status: {per_order:6.1f} ms CPU ({refreshes / orders:.1f} reads)"
    )
    print(
        f"one order, watched to its end with its saga:  {per_watched:6.1f} ms CPU ({watches / orders:.1f} reads); "
        f"watching the saga costs {per_watched - per_order:.1f} ms, {per_watched / per_order - 1:.2f} of an order"
    )
    print(
        f"one read of a final order and its saga:       {per_read:6.1f} ms CPU ({per_read / per_order:.2f} of an order)"
    )
    for name in sorted(read_cpu, key=lambda key: -read_cpu[key])[:3]:
        print(f"  {name:<12} {read_cpu[name] / reads * 1000:6.1f} ms per final read")


def _place(customer: RestClient) -> str:
    body = {"items": [{"sku": SKU, "quantity": 1}]}
    return str(customer.check(customer.post("/api/v1/orders", body))["id"])


def _refresh(customer: RestClient, order_id: str, *, saga: bool) -> str:
    """One refresh of the order page (with its saga, or the order alone); the order's status."""
    status = str(customer.check(customer.get(f"/api/v1/orders/{order_id}"))["status"])
    if saga:
        customer.check(customer.get(f"/api/v1/orders/{order_id}/saga"))
    return status


def _place_and_follow(customer: RestClient, *, saga: bool) -> int:
    """Place an order and refresh its page once a second until it is final; the refreshes."""
    order_id = _place(customer)
    for refreshes in range(1, 61):
        if _refresh(customer, order_id, saga=saga) != "PENDING":
            return refreshes
        time.sleep(1)
    raise SystemExit(f"order {order_id} still PENDING after a minute: the stack is not keeping up")


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


if __name__ == "__main__":
    main()

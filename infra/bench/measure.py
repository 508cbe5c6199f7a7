"""One bench run against a running stack: at each concurrency level, the floor (OrderSaga with
no-op activities on a worker of its own, started through the Temporal client), then the product
(real orders through POST /api/v1/orders, each followed to its end through the workflow's result).

Every loop is bounded: a level places exactly `orders` sagas per repetition, and every wait has a
deadline. It reaches the stack only through its APIs and /proc.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from infra.bench.procstats import PeakMemory, cpu_seconds
from saga_contract import WORKFLOW_TYPE, OrderSagaInput, workflow_id

FLOOR_TASK_QUEUE = "bench-floor"
RESULT_TIMEOUT_SECONDS = 120.0
ITEMS = 2  # lines per order, on both sides


@dataclass
class Side:
    """What one side (floor or product) did at one level: latencies in seconds."""

    wall_seconds: float = 0.0
    completed: int = 0
    to_final: list[float] = field(default_factory=list)
    accept: list[float] = field(default_factory=list)
    history_events: int = 0
    last_workflow_id: str | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_bytes: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict:
        figures = {
            "throughput_per_s": round(self.completed / self.wall_seconds, 2) if self.wall_seconds else 0.0,
            "p50_ms": _ms(_percentile(self.to_final, 50)),
            "p95_ms": _ms(_percentile(self.to_final, 95)),
            "p99_ms": _ms(_percentile(self.to_final, 99)),
            "completed": self.completed,
            "history_events_per_order": self.history_events,
            "processes": {
                name: {
                    "cpu_s": round(self.cpu_seconds.get(name, 0.0), 2),
                    "cpu_ms_per_order": round(1000 * self.cpu_seconds.get(name, 0.0) / max(self.completed, 1), 1),
                    "peak_rss_mb": round(self.peak_rss_bytes.get(name, 0) / 2**20, 1),
                }
                for name in self.cpu_seconds
            },
        }
        if self.accept:
            figures["accept_p50_ms"] = _ms(_percentile(self.accept, 50))
            figures["accept_p99_ms"] = _ms(_percentile(self.accept, 99))
        return figures


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


@dataclass(frozen=True)
class Target:
    """What the bench talks to and watches."""

    temporal_address: str
    order_url: str
    customer_tokens: list[str]
    skus: list[str]
    processes: dict[str, int]  # name -> process group id


async def _await_result(client: Client, wf_id: str) -> None:
    """The saga's result; a saga the relay has not started yet is looked for again (bounded)."""
    deadline = time.monotonic() + RESULT_TIMEOUT_SECONDS
    while True:
        try:
            await client.get_workflow_handle(wf_id).result()
            return
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.005)


async def _run_clients(concurrency: int, orders: int, one: Callable) -> float:
    """`concurrency` clients place `orders` sagas in all, one after another each; the wall time."""
    queue = list(range(orders))
    began = time.perf_counter()

    async def client(index: int) -> None:
        while queue:
            queue.pop()
            await one(index)

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return time.perf_counter() - began


async def floor_level(client: Client, target: Target, concurrency: int, orders: int, tick: Callable) -> Side:
    side = Side()

    async def one(index: int) -> None:
        order_id = str(uuid.uuid4())
        saga = OrderSagaInput(order_id, f"floor-{index}", [{"sku": sku, "quantity": 1} for sku in target.skus[:ITEMS]])
        began = time.perf_counter()
        handle = await client.start_workflow(
            WORKFLOW_TYPE, saga.as_payload(), id=f"floor-{order_id}", task_queue=FLOOR_TASK_QUEUE
        )
        await handle.result()
        side.last_workflow_id = handle.id
        side.to_final.append(time.perf_counter() - began)
        side.completed += 1
        tick()

    await _measured(side, target, client, lambda: _run_clients(concurrency, orders, one))
    return side


async def product_level(client: Client, target: Target, concurrency: int, orders: int, tick: Callable) -> Side:
    side = Side()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=target.order_url, limits=limits, timeout=30, trust_env=False) as http:

        async def one(index: int) -> None:
            token = target.customer_tokens[index % len(target.customer_tokens)]
            body = {"items": [{"sku": sku, "quantity": 1} for sku in target.skus[:ITEMS]]}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
            began = time.perf_counter()
            response = await _post_as_a_careful_client(http, body, headers)
            side.accept.append(time.perf_counter() - began)
            if response.status_code != 202:
                raise RuntimeError(f"POST /api/v1/orders answered {response.status_code}: {response.text[:200]}")
            side.last_workflow_id = workflow_id(response.json()["id"])
            await _await_result(client, side.last_workflow_id)
            side.to_final.append(time.perf_counter() - began)
            side.completed += 1
            tick()

        await _measured(side, target, client, lambda: _run_clients(concurrency, orders, one))
    return side


async def _post_as_a_careful_client(http: httpx.AsyncClient, body: dict, headers: dict) -> httpx.Response:
    """POST the order; a connection the server closed under a reused keep-alive (a race every HTTP
    client meets now and then) is sent again with the same Idempotency-Key: at most 3 tries."""
    for attempt in range(3):
        try:
            return await http.post("/api/v1/orders", json=body, headers=headers)
        except httpx.TransportError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _measured(side: Side, target: Target, client: Client, run: Callable) -> None:
    """Run the level's sagas, with the processes' CPU and memory around them; then count the events
    of one of them (they all take the same path)."""
    before = cpu_seconds(target.processes)
    with PeakMemory(target.processes) as memory:
        side.wall_seconds = await run()
    after = cpu_seconds(target.processes)
    side.cpu_seconds = {name: max(0.0, after[name] - before[name]) for name in target.processes}
    side.peak_rss_bytes = dict(memory.peak_bytes)
    history = await client.get_workflow_handle(side.last_workflow_id).fetch_history()
    side.history_events = len(history.events)


def summarize(concurrency: int, orders: int, repeat: int, floor: list[Side], product: list[Side]) -> dict:
    """The figures of one level over its repetitions (latencies pooled, throughput over all wall time)."""
    merged = {name: _merge(sides) for name, sides in (("floor", floor), ("product", product))}
    figures = {name: side.figures() for name, side in merged.items()}
    floor_figures, product_figures = figures["floor"], figures["product"]
    return {
        "concurrency": concurrency,
        "orders": orders,
        "repeat": repeat,
        "floor": floor_figures,
        "product": product_figures,
        "ratios": {
            "throughput": round(product_figures["throughput_per_s"] / floor_figures["throughput_per_s"], 2)
            if floor_figures["throughput_per_s"] else None,
            "p50": round(product_figures["p50_ms"] / floor_figures["p50_ms"], 2) if floor_figures["p50_ms"] else None,
        },
    }


def _merge(sides: list[Side]) -> Side:
    merged = Side()
    for side in sides:
        merged.wall_seconds += side.wall_seconds
        merged.completed += side.completed
        merged.to_final += side.to_final
        merged.accept += side.accept
        merged.history_events = max(merged.history_events, side.history_events)
        for name, cpu in side.cpu_seconds.items():
            merged.cpu_seconds[name] = merged.cpu_seconds.get(name, 0.0) + cpu
        for name, rss in side.peak_rss_bytes.items():
            merged.peak_rss_bytes[name] = max(merged.peak_rss_bytes.get(name, 0), rss)
    return merged


async def run_levels(
    target: Target, *, concurrency: list[int], orders: int, repeat: int, progress: Callable[[str, int], None]
) -> list[dict]:
    """Every level, floor then product, `repeat` times; a summary dict per level."""
    client = await Client.connect(target.temporal_address)
    levels = []
    for level in concurrency:
        floors, products = [], []
        for _ in range(repeat):
            progress(f"floor   c={level}", orders)
            floors.append(await floor_level(client, target, level, orders, lambda: progress("", 0)))
            progress(f"product c={level}", orders)
            products.append(await product_level(client, target, level, orders, lambda: progress("", 0)))
        levels.append(summarize(level, orders, repeat, floors, products))
    return levels

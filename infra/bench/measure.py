"""One bench run against a running stack: at each concurrency level, the floor (OrderSaga with
no-op activities on a worker of its own, started through the Temporal client), then the product
(real orders through POST /api/v1/orders, each followed to its end through the workflow's result).

Every loop is bounded: a level places exactly `orders` sagas per repetition, and every wait has a
deadline. It reaches the stack only through its APIs, /proc and, on PostgreSQL, pg_stat_activity.

Each level is a dict (the JSON of `sagactl bench --json` is the list of them): `concurrency`,
`orders`, `repeat`, `ratios` (`throughput`, `p50`: product/floor), and per side (`floor`, `product`)
`throughput_per_s`, `p50_ms`, `p95_ms`, `p99_ms`, `completed`, `history_events_per_order`,
`accept_p50_ms` and `accept_p99_ms` (product), and `processes`: per process group `cpu_s`,
`cpu_ms_per_order` (per completed saga) and `peak_rss_mb`; for each service also `requests` (HTTP
requests it answered during the side's sagas, counted on its /metrics: infra/bench/served.py) and
`cpu_ms_per_request` (its CPU over those requests; None without any). On PostgreSQL `processes`
holds `postgres` too: the backends serving the stack's databases (infra/bench/pg_backends.py; its
`peak_rss_mb` is 0, not read). `after_level` adds its own keys (the commands phase: infra/bench/commands.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from infra.bench.clients import post_with_retries, run_clients
from infra.bench.pg_backends import BackendCpu
from infra.bench.procstats import PeakMemory, cpu_seconds
from infra.bench.served import requests_answered
from infra.rest import JsonObject
from saga_contract import WORKER_DEPLOYMENT, WORKFLOW_TYPE, OrderItem, OrderSagaInput, workflow_id

FLOOR_TASK_QUEUE = "bench-floor"
FLOOR_DEPLOYMENT = f"{WORKER_DEPLOYMENT}-floor"
FLOOR_BUILD_ID = "floor"
"""The floor worker's Worker Deployment and its one version: its sagas are pinned as the product's are."""
RESULT_TIMEOUT_SECONDS = 120.0
ITEMS = 2  # lines per order, on both sides


@dataclass
class Side:
    """What one side (floor or product) did at one level: latencies in seconds."""

    wall_seconds: float = 0.0
    completed: int = 0
    to_final: list[float] = field(default_factory=list)
    accept: list[float] = field(default_factory=list)
    """POST accept latencies once the level runs: every placement but each client's first."""
    first_wave: list[float] = field(default_factory=list)
    """Each client's first placement: all of them sent in the same instant as the level starts."""
    history_events: int = 0
    last_workflow_id: str | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_bytes: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)  # service -> HTTP requests answered

    def figures(self) -> JsonObject:
        figures: JsonObject = {
            "throughput_per_s": round(self.completed / self.wall_seconds, 2) if self.wall_seconds else 0.0,
            "p50_ms": _ms(_percentile(self.to_final, 50)),
            "p95_ms": _ms(_percentile(self.to_final, 95)),
            "p99_ms": _ms(_percentile(self.to_final, 99)),
            "completed": self.completed,
            "history_events_per_order": self.history_events,
            "processes": {
                name: {
                    "cpu_s": round(self.cpu_seconds.get(name, 0.0), 2),
                    "cpu_ms_per_order": round(
                        1000 * self.cpu_seconds.get(name, 0.0) / max(self.completed, 1), 1
                    ),
                    "peak_rss_mb": round(self.peak_rss_bytes.get(name, 0) / 2**20, 1),
                }
                | self._per_request(name)
                for name in self.cpu_seconds
            },
        }
        if self.accept or self.first_wave:
            running = self.accept or self.first_wave  # a level of one placement per client has no other
            figures["accept_p50_ms"] = _ms(_percentile(running, 50))
            figures["accept_p99_ms"] = _ms(_percentile(running, 99))
            figures["first_wave_accept_p50_ms"] = _ms(_percentile(self.first_wave, 50))
            figures["first_wave_accept_max_ms"] = _ms(max(self.first_wave, default=0.0))
        return figures

    def _per_request(self, name: str) -> dict[str, float | None]:
        if name not in self.requests:
            return {}
        requests = self.requests[name]
        cpu = self.cpu_seconds.get(name, 0.0)
        return {
            "requests": requests,
            "cpu_ms_per_request": round(1000 * cpu / requests, 2) if requests else None,
        }


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
    service_urls: dict[str, str] = field(default_factory=dict)  # service -> base URL, for its /metrics
    postgres_url: str | None = None
    postgres_databases: list[str] = field(default_factory=list)  # the stack's databases on that server

    def postgres_backends(self) -> contextlib.AbstractContextManager[BackendCpu | None]:
        if self.postgres_url is None:
            return contextlib.nullcontext()
        return BackendCpu(self.postgres_url, self.postgres_databases)


# Pauses between looks for a saga the relay has not started yet: short at first, then no more than
# 20 a second, so that a relay slowed by load is not answered with a flood of look-ups that would
# count as the product's Temporal CPU. A late look costs nothing once the saga runs: its result is
# then awaited, and a saga takes longer than the longest pause.
_NOT_STARTED_PAUSES = (0.005, 0.01, 0.02, 0.05)


async def _await_result(client: Client, wf_id: str) -> None:
    """The saga's result; a saga the relay has not started yet is looked for again (bounded)."""
    deadline = time.monotonic() + RESULT_TIMEOUT_SECONDS
    for attempt in itertools.count():
        try:
            await client.get_workflow_handle(wf_id).result()
            return
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(_NOT_STARTED_PAUSES[min(attempt, len(_NOT_STARTED_PAUSES) - 1)])


async def floor_level(
    client: Client, target: Target, concurrency: int, orders: int, tick: Callable[[], None]
) -> Side:
    side = Side()

    async def one(index: int, _: int) -> None:
        order_id = str(uuid.uuid4())
        saga = OrderSagaInput(order_id, f"floor-{index}", [OrderItem(sku, 1) for sku in target.skus[:ITEMS]])
        began = time.perf_counter()
        handle = await client.start_workflow(
            WORKFLOW_TYPE, saga.as_payload(), id=f"floor-{order_id}", task_queue=FLOOR_TASK_QUEUE
        )
        await handle.result()
        side.last_workflow_id = handle.id
        side.to_final.append(time.perf_counter() - began)
        side.completed += 1
        tick()

    await _measured(side, target, client, lambda: run_clients(concurrency, range(orders), one))
    return side


async def product_level(
    client: Client, target: Target, concurrency: int, orders: int, tick: Callable[[], None]
) -> Side:
    side = Side()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=target.order_url, limits=limits, timeout=30, trust_env=False
    ) as http:
        started: set[int] = set()

        async def one(index: int, _: int) -> None:
            first = index not in started
            started.add(index)
            token = target.customer_tokens[index % len(target.customer_tokens)]
            body = {"items": [{"sku": sku, "quantity": 1} for sku in target.skus[:ITEMS]]}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
            began = time.perf_counter()
            response = await post_with_retries(http, "/api/v1/orders", body, headers)
            (side.first_wave if first else side.accept).append(time.perf_counter() - began)
            if response.status_code != 202:
                raise RuntimeError(
                    f"POST /api/v1/orders answered {response.status_code}: {response.text[:200]}"
                )
            side.last_workflow_id = workflow_id(response.json()["id"])
            await _await_result(client, side.last_workflow_id)
            side.to_final.append(time.perf_counter() - began)
            side.completed += 1
            tick()

        await _measured(side, target, client, lambda: run_clients(concurrency, range(orders), one))
    return side


async def _measured(side: Side, target: Target, client: Client, run: Callable[[], Awaitable[float]]) -> None:
    """Run the level's sagas, with the processes' CPU and memory and the services' requests around
    them; then count the events of one of them (they all take the same path)."""
    async with httpx.AsyncClient(timeout=10, trust_env=False) as metrics:
        answered = await requests_answered(metrics, target.service_urls)
        before = cpu_seconds(target.processes)
        with PeakMemory(target.processes) as memory, target.postgres_backends() as backends:
            side.wall_seconds = await run()
        after = cpu_seconds(target.processes)
        side.requests = {
            service: count - answered[service]
            for service, count in (await requests_answered(metrics, target.service_urls)).items()
        }
    side.cpu_seconds = {name: max(0.0, after[name] - before[name]) for name in target.processes}
    if backends is not None:
        side.cpu_seconds["postgres"] = backends.cpu_seconds
    side.peak_rss_bytes = dict(memory.peak_bytes)
    # A level runs at least one saga, and one that failed raised before this point.
    assert side.last_workflow_id is not None
    history = await client.get_workflow_handle(side.last_workflow_id).fetch_history()
    side.history_events = len(history.events)


def summarize(
    concurrency: int, orders: int, repeat: int, floor: list[Side], product: list[Side]
) -> JsonObject:
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
            if floor_figures["throughput_per_s"]
            else None,
            "p50": round(product_figures["p50_ms"] / floor_figures["p50_ms"], 2)
            if floor_figures["p50_ms"]
            else None,
        },
    }


def _merge(sides: list[Side]) -> Side:
    merged = Side()
    for side in sides:
        merged.wall_seconds += side.wall_seconds
        merged.completed += side.completed
        merged.to_final += side.to_final
        merged.accept += side.accept
        merged.first_wave += side.first_wave
        merged.history_events = max(merged.history_events, side.history_events)
        for name, requests in side.requests.items():
            merged.requests[name] = merged.requests.get(name, 0) + requests
        for name, cpu in side.cpu_seconds.items():
            merged.cpu_seconds[name] = merged.cpu_seconds.get(name, 0.0) + cpu
        for name, rss in side.peak_rss_bytes.items():
            merged.peak_rss_bytes[name] = max(merged.peak_rss_bytes.get(name, 0), rss)
    return merged


async def run_levels(
    target: Target,
    *,
    concurrency: list[int],
    orders: int,
    repeat: int,
    progress: Callable[[str, int], None],
    after_level: Callable[[int], Awaitable[JsonObject]] | None = None,
) -> list[JsonObject]:
    """Every level, floor then product, `repeat` times, then `after_level(concurrency)` when given,
    whose keys join the level's; a summary dict per level."""
    client = await Client.connect(target.temporal_address)
    levels = []
    for level in concurrency:
        floors, products = [], []
        for _ in range(repeat):
            progress(f"floor   c={level}", orders)
            floors.append(await floor_level(client, target, level, orders, lambda: progress("", 0)))
            progress(f"product c={level}", orders)
            products.append(await product_level(client, target, level, orders, lambda: progress("", 0)))
        summary = summarize(level, orders, repeat, floors, products)
        if after_level is not None:
            summary |= await after_level(level)
        levels.append(summary)
    return levels

"""The commands phase of a bench level: each saga command as a batch of requests, on the product's
own services and on the framework floor, with the CPU of the service that ran it per request.

At the level's concurrency each side places `count` orders, then reserves, authorizes, captures,
commits and confirms them, one batch per command in the saga's order; then, on `count` other
orders it places, reserves and authorizes unmeasured, it voids, releases and reports them
cancelled. The sides take turns command by command, so that the two batches of a command run seconds
apart. Every request carries a fresh Idempotency-Key; the product's carry real tokens (the
saga's, a customer's for placement). Around each measured batch the CPU of the service's process
group (gunicorn's master and workers) is read from /proc, and on PostgreSQL that of the backends
serving its database (infra/bench/pg_backends.py).

`commands_level` returns, per command (JSON under the level's `commands` key):
`{"service", "product": FIGURES, "floor": FIGURES, "ratio": product/floor CPU per request,
"statements": {"product", "floor"}}`, where FIGURES is `{"requests", "requests_per_s",
"cpu_ms_per_request"}` plus `"postgres_cpu_ms_per_request"` on PostgreSQL. The statements are
counted once per run (infra/bench/statements.py).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import httpx

from infra.bench.clients import post_with_retries, run_clients
from infra.bench.pg_backends import BackendCpu
from infra.bench.procstats import cpu_seconds
from infra.bench.saga_requests import (
    CANCELLED_SAGA,
    COMMANDS,
    COMPENSATIONS,
    COMPLETED_SAGA,
    BenchOrder,
    command_request,
    is_customers,
)

CPU_BUDGET = 1.5
"""What a command may cost the product per request, in CPU, against the framework floor."""


class Figures(TypedDict):
    """What one batch of a command cost one side (FIGURES in the module's description)."""

    requests: int
    requests_per_s: float
    cpu_ms_per_request: float
    postgres_cpu_ms_per_request: NotRequired[float]


class CommandFigures(TypedDict):
    """One command at one level, on both sides."""

    service: str
    product: Figures
    floor: Figures
    ratio: float | None  # product/floor CPU per request; None when the floor's is 0
    statements: dict[str, int]  # side -> SQL statements one request runs


@dataclass(frozen=True)
class CommandSide:
    """One side of the commands phase: its services' URLs and process groups, who it acts as, and
    where its databases are on PostgreSQL."""

    name: str
    urls: dict[str, str]  # service -> base URL
    groups: dict[str, int]  # service -> process group id
    customers: list[str]
    skus: list[str]
    saga_token: str | None = None  # None: the side takes no tokens (the floor)
    customer_tokens: dict[str, str] | None = None
    postgres_url: str | None = None
    databases: dict[str, str] | None = None  # service -> PostgreSQL database name

    def headers(self, command: str, order: BenchOrder) -> dict[str, str]:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if self.saga_token is not None:
            assert self.customer_tokens is not None  # a side takes both kinds of token, or none
            token = self.customer_tokens[order.customer_id] if is_customers(command) else self.saga_token
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def postgres_backends(self, service: str) -> contextlib.AbstractContextManager[BackendCpu | None]:
        if self.postgres_url is None or self.databases is None:
            return contextlib.nullcontext()
        return BackendCpu(self.postgres_url, [self.databases[service]])


async def _batch(
    http: httpx.AsyncClient,
    side: CommandSide,
    command: str,
    orders: list[BenchOrder],
    concurrency: int,
    tick: Callable[[], None],
) -> Figures:
    """Send `command` for every order at `concurrency`; the figures of the batch."""
    service = COMMANDS[command]

    async def one(_client: int, order: BenchOrder) -> None:
        path, body = command_request(command, order)
        response = await post_with_retries(
            http, side.urls[service] + path, body, side.headers(command, order)
        )
        if response.status_code >= 300:
            raise RuntimeError(
                f"{side.name} {command} answered {response.status_code}: {response.text[:300]}"
            )
        if command == "place":
            order.order_id = response.json()["id"]
        tick()

    group = {service: side.groups[service]}
    before = cpu_seconds(group)[service]
    with side.postgres_backends(service) as backends:
        wall = await run_clients(concurrency, orders, one)
    spent = cpu_seconds(group)[service] - before
    figures: Figures = {
        "requests": len(orders),
        "requests_per_s": round(len(orders) / wall, 1) if wall else 0.0,
        "cpu_ms_per_request": round(1000 * max(spent, 0.0) / len(orders), 2),
    }
    if backends is not None:
        figures["postgres_cpu_ms_per_request"] = round(1000 * backends.cpu_seconds / len(orders), 2)
    return figures


async def run_commands(
    sides: list[CommandSide], concurrency: int, count: int, tick: Callable[[], None]
) -> dict[str, dict[str, Figures]]:
    """Every command of the two sagas on every side, `count` requests each: per side, the figures
    per command. The sides take turns command by command, the first side first on every other
    command, so that the batches a ratio compares run seconds apart, not minutes: a shared host's
    speed can drift by a fifth within minutes."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    figures: dict[str, dict[str, Figures]] = {side.name: {} for side in sides}
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(limits=limits, timeout=30, trust_env=False))
            for _ in sides
        ]
        for saga in (COMPLETED_SAGA, CANCELLED_SAGA):
            orders = [
                [BenchOrder(side.customers[i % len(side.customers)], tuple(side.skus)) for i in range(count)]
                for side in sides
            ]
            for turn, command in enumerate(saga):
                turns = range(len(sides)) if turn % 2 == 0 else reversed(range(len(sides)))
                for index in turns:
                    side = sides[index]
                    batch = await _batch(clients[index], side, command, orders[index], concurrency, tick)
                    if saga is COMPLETED_SAGA or command in COMPENSATIONS:
                        figures[side.name][command] = batch
    return figures


WARM_UP_CONCURRENCY = 8
"""gunicorn's workers × threads in every service (infra.stack's django_service): a warm-up batch at
this concurrency reaches every thread, so each has imported its code and opened its connection."""


async def warm_up(sides: list[CommandSide]) -> None:
    """Every command a few times on each side, unmeasured: the first request of a process or thread
    pays for imports and a database connection, which no level should count."""
    await run_commands(sides, WARM_UP_CONCURRENCY, 2 * WARM_UP_CONCURRENCY, lambda: None)


def requests_per_level(count: int) -> int:
    """Requests one side sends at one level (for progress bars)."""
    return count * (len(COMPLETED_SAGA) + len(CANCELLED_SAGA))


async def commands_level(
    sides: list[CommandSide],
    statements: dict[str, dict[str, int]],
    concurrency: int,
    count: int,
    progress: Callable[[str, int], None],
) -> dict[str, CommandFigures]:
    """The product's side and the floor's at one level, command by command (see the module)."""
    progress(f"commands c={concurrency}", len(sides) * requests_per_level(count))
    measured = await run_commands(sides, concurrency, count, lambda: progress("", 0))
    commands: dict[str, CommandFigures] = {}
    for command, service in COMMANDS.items():
        product, floor = measured["product"][command], measured["floor"][command]
        commands[command] = {
            "service": service,
            "product": product,
            "floor": floor,
            "ratio": round(product["cpu_ms_per_request"] / floor["cpu_ms_per_request"], 2)
            if floor["cpu_ms_per_request"]
            else None,
            "statements": {name: statements[name][command] for name in ("product", "floor")},
        }
    return commands

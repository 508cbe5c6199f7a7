"""The bench's load: a fixed number of concurrent clients working through a bounded list of items,
and a POST that a client sends again when a reused keep-alive connection was closed under it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TypeVar

import httpx

from infra.rest import JsonObject

Item = TypeVar("Item")


async def run_clients(
    concurrency: int, items: Iterable[Item], one: Callable[[int, Item], Awaitable[None]]
) -> float:
    """`concurrency` clients take the items one at a time, each calling `one(client index, item)`
    and then taking the next, until none is left; the wall time in seconds."""
    queue = list(items)
    queue.reverse()
    began = time.perf_counter()

    async def client(index: int) -> None:
        while queue:
            await one(index, queue.pop())

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return time.perf_counter() - began


async def post_with_retries(
    http: httpx.AsyncClient, url: str, body: JsonObject, headers: Mapping[str, str]
) -> httpx.Response:
    """POST `body`; a connection the server closed under a reused keep-alive (a race every HTTP
    client meets now and then) is sent again with the same headers, Idempotency-Key included: at
    most 3 tries."""
    for attempt in range(3):
        try:
            return await http.post(url, json=body, headers=headers)
        except httpx.TransportError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")

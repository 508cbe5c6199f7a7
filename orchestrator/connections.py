"""httpx's transport for the worker's calls, over a pool whose idle connections are checked cheaply.

Before it hands a request a connection, and again whenever a request ends, httpcore's pool asks
each of its idle connections whether the server has closed it (a gunicorn worker closes a kept-alive
connection after 2 s of quiet). Through anyio, each of those questions first builds the stream's
whole table of attributes to find its socket: with twenty calls in flight, more than a quarter of a
call's CPU went to that asking (docs/benchmarks.md). Here each connection keeps its socket's
poll object from the moment it connects and answers the same question with one ``poll(0)``: the
same check, at the same moments, with the same answer.
"""

import select
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class _Stream(httpcore.AsyncNetworkStream):
    """anyio's stream, answering "is the server's side readable?" from a poll object made once."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")
        self._poll = select.poll()
        if self._socket is not None:
            self._poll.register(self._socket, select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info != "is_readable":
            return self._stream.get_extra_info(info)
        # An idle connection that is readable was closed by the server, or sent something unasked:
        # either way it is not to be reused. A socket closed on this side counts as readable too.
        if self._socket is None or self._socket.fileno() < 0:
            return True
        return bool(self._poll.poll(0))


class _Backend(httpcore.AsyncNetworkBackend):
    """anyio's backend (httpcore's own for asyncio), its streams wrapped in _Stream."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP/1.1 transport (its request handling, its errors, and OpenTelemetry's spans of
    it) over a connection pool of `limits` whose streams are _Stream."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        # httpx builds its pool in __init__ and has no argument for its network backend: the pool is
        # built again with one, from the same limits (tests/unit/test_connections.py pins this).
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(),
        )

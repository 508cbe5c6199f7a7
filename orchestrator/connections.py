"""httpx's transport for the worker's calls: aiohttp's connection pool and HTTP parser under httpx's
client, traced as httpx's own transport is.

The calls are the largest cost the worker has that the floor worker has not. Through httpcore and
h11 one traced call cost the worker 0.94–0.99 ms of CPU for a lone caller and 1.57–1.64 ms with
twenty in flight (httpcore rescans its whole pool each time a request arrives or ends); through
aiohttp, whose parser is C and whose pool learns from the event loop that the server closed a
connection, 0.70–0.73 and 0.65–0.71 (docs/benchmarks.md). The client layer above (its token,
breaker, retries and error taxonomy) is the same httpx client either way.

aiohttp raises its own errors: the transport turns the connection's into httpx's (`TransportError`),
and `Unreadable` covers an answer aiohttp could not parse, which the client treats as the same
failure to talk to the service.
"""

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport


class Unreadable(httpx.TransportError):
    """The service answered something aiohttp could not read as HTTP/1.1 (its `ClientResponseError`,
    or any other of its errors the transport's own table leaves as they are)."""


class _Transport(AiohttpTransport):
    """httpx_aiohttp's transport with every aiohttp error an httpx one, and no second cookie jar
    (httpx's client keeps its own)."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, client=self._session)

    def _session(self) -> aiohttp.ClientSession:
        # Made at the first request, inside the event loop, as aiohttp wants its sessions made.
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.limits.max_connections or 0,
                keepalive_timeout=self.limits.keepalive_expiry,
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except aiohttp.ClientError as error:  # what the transport's own table leaves as aiohttp's
            raise Unreadable(f"{type(error).__name__}: {error}", request=request) from error


def pooled_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """A transport over one aiohttp connection pool of `limits`, each request a client span (the
    instrumentation's `instrument()` patches only httpx's own transport, so this one is wrapped)."""
    return AsyncOpenTelemetryTransport(_Transport(limits))

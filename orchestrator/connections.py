"""httpx's transport for the worker's calls: aiohttp's connection pool and HTTP parser under httpx's
client, each request a client span.

The calls are the largest cost the worker has that the floor worker has not. Through httpcore and
h11 one traced call cost the worker 0.98–1.08 ms of CPU for a lone caller and 1.60–1.69 ms with
twenty in flight (httpcore rescans its whole pool each time a request arrives or ends); through
aiohttp, whose parser is C and whose pool learns from the event loop that the server closed a
connection, 0.72–0.81 and 0.73–0.81 (docs/benchmarks.md). The client layer above (its token,
breaker, retries and error taxonomy) is the same httpx client either way.

aiohttp raises its own errors, and httpx-aiohttp's table names every failed connection a connect
timeout: here each is named again as httpx's own transport would name it (ConnectError, ConnectTimeout,
ReadError, ReadTimeout), and an answer aiohttp cannot read as HTTP is `Unreadable`, all of them the
`TransportError` the client layer turns into ServiceUnreachable. The body is read under the same
read timeout: after a malformed chunk aiohttp closes the connection without waking its reader.

Each request's client span is made here, with the attributes OpenTelemetry's httpx instrumentation
gives the token calls (its default conventions, as the services' spans have): that instrumentation
costs the worker 0.13-0.15 ms of CPU more per call than this span does, since it reads every
header of the request and the answer for the ones it was asked to capture (none) and parses the URL
again twice (docs/benchmarks.md).
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_http_instrumentation_enabled
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.http import redact_url


class Unreadable(httpx.TransportError):
    """The service answered something aiohttp could not read as HTTP/1.1 (its `ClientResponseError`,
    or another of its errors that says nothing of the connection)."""


def _as_httpx(error: BaseException, request: httpx.Request) -> httpx.TransportError:
    """aiohttp's `error` (or the OSError, TimeoutError or RuntimeError it lets through) as httpx's."""
    kind: type[httpx.TransportError]
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(error, TimeoutError):  # a socket's read, or the body's deadline below
        kind = httpx.ReadTimeout
    elif isinstance(error, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(
        error, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError | OSError | RuntimeError
    ):
        kind = httpx.ReadError  # reset, closed by the server, cut short
    else:
        kind = Unreadable
    return kind(f"{type(error).__name__}: {error}", request=request)


@contextmanager
def _httpx_errors(request: httpx.Request, *also: type[Exception]) -> Iterator[None]:
    """aiohttp's errors (and `also`) raised inside as httpx's, those httpx-aiohttp's table already
    turned into httpx's named again from the aiohttp error underneath."""
    raised_by_aiohttp: tuple[type[Exception], ...] = (aiohttp.ClientError, OSError, *also)
    try:
        yield
    except httpx.TransportError as error:
        cause = error.__cause__
        if not isinstance(cause, aiohttp.ClientError | OSError):
            raise
        raise _as_httpx(cause, request) from cause
    except raised_by_aiohttp as error:
        raise _as_httpx(error, request) from error


class _Body(httpx.AsyncByteStream):
    """The answer's body as aiohttp reads it, each read under the request's read timeout and each
    failure an httpx one."""

    def __init__(self, body: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._body = body
        self._request = request
        self._timeout: float | None = request.extensions.get("timeout", {}).get("read")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = aiter(self._body)
        while True:
            try:
                # RuntimeError: aiohttp's "Connection closed." for a read that comes after the close.
                with _httpx_errors(self._request, RuntimeError):
                    async with asyncio.timeout(self._timeout):
                        chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            yield chunk

    async def aclose(self) -> None:
        await self._body.aclose()


class _Transport(AiohttpTransport):
    """httpx_aiohttp's transport with aiohttp's errors named as httpx's, its body read under the read
    timeout, and no cookie jar of aiohttp's (the client above keeps no cookies either)."""

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
        with _httpx_errors(request):
            response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Body(response.stream, request)
        return response


class _Traced(httpx.AsyncBaseTransport):
    """Each request through `transport` a client span, current while it is sent so that the
    propagator writes it into the request's headers: the service's span continues it. Like the
    instrumentation, it hides credentials in the URL and makes no span where instrumentation is
    suppressed; it always writes the old attribute names, whatever OTEL_SEMCONV_STABILITY_OPT_IN says."""

    def __init__(self, transport: httpx.AsyncBaseTransport, provider: trace.TracerProvider | None) -> None:
        self._transport = transport
        self._tracer = trace.get_tracer(__name__, tracer_provider=provider)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not is_http_instrumentation_enabled():  # suppressed, as OpenTelemetry's own exports are
            return await self._transport.handle_async_request(request)
        attributes = {"http.method": request.method, "http.url": redact_url(str(request.url))}
        with self._tracer.start_as_current_span(
            request.method, kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            inject(request.headers)
            response = await self._transport.handle_async_request(request)
            span.set_attribute("http.status_code", response.status_code)
            if response.status_code >= 400:  # a client's span fails on every refusal, as httpx's do
                span.set_status(Status(StatusCode.ERROR))
            return response

    async def aclose(self) -> None:
        await self._transport.aclose()


def pooled_transport(
    limits: httpx.Limits, *, tracer_provider: trace.TracerProvider | None = None
) -> httpx.AsyncBaseTransport:
    """A transport over one aiohttp connection pool of `limits`, each request a client span of the
    global tracer provider's (or of `tracer_provider`)."""
    return _Traced(_Transport(limits), tracer_provider)

"""The worker's transport against a real HTTP/1.1 server on 127.0.0.1: a kept-alive connection is
reused while it lives, one the server closed is not, the pool keeps its limit, every way a call
can fail to be answered is an httpx TransportError, and each call is a client span whose context the
request carries."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from orchestrator.connections import Unreadable, pooled_transport

pytestmark = pytest.mark.asyncio

LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10, keepalive_expiry=30.0)


@dataclass
class Server:
    """Answers each request with 200 and its connection's number (or with `answer`, as it is, and
    `then` a moment later); closes a connection after its answer when `close_after_answer` is set,
    without saying so (as a server's keep-alive timeout does)."""

    close_after_answer: bool = False
    answer: bytes | None = None
    then: bytes | None = None
    delay: float = 0.05  # long enough for calls made at once to overlap
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.heads.append(head)
                await asyncio.sleep(self.delay)
                body = str(number).encode()
                writer.write(
                    self.answer or b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
                if self.then is not None:
                    await asyncio.sleep(0.2)
                    writer.write(self.then)
                    await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()
        self.closed.set()


@asynccontextmanager
async def serving(
    server: Server,
    limits: httpx.Limits = LIMITS,
    timeout: float = 5.0,
    tracer_provider: TracerProvider | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    transport = pooled_transport(limits, tracer_provider=tracer_provider)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=timeout
    ) as client:
        yield client
    listening.close()


async def test_a_live_connection_is_reused() -> None:
    server = Server()
    async with serving(server) as client:
        first = await client.get("/")
        second = await client.get("/")

    assert (first.text, second.text) == ("1", "1")
    assert server.connections == 1


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    server = Server(close_after_answer=True)
    async with serving(server) as client:
        first = await client.get("/")
        await asyncio.wait_for(server.closed.wait(), timeout=5)
        await asyncio.sleep(0.05)  # the FIN reaches the client's socket
        second = await client.get("/")

    assert (first.text, second.text) == ("1", "2")


async def test_the_pool_keeps_its_limit_of_connections() -> None:
    server = Server()
    async with serving(server, httpx.Limits(max_connections=2, max_keepalive_connections=2)) as client:
        answers = await asyncio.gather(*(client.get("/") for _ in range(6)))

    assert sorted(answer.text for answer in answers) == ["1", "1", "1", "2", "2", "2"]
    assert server.connections == 2


async def test_an_answer_that_is_not_http_is_a_transport_error() -> None:
    server = Server(answer=b"SMTP ready\r\n\r\n")
    async with serving(server) as client:
        with pytest.raises(Unreadable) as raised:
            await client.get("/")

    assert isinstance(raised.value, httpx.TransportError)


async def test_a_server_that_does_not_answer_in_time_is_a_read_timeout() -> None:
    server = Server(delay=5.0)
    async with serving(server, timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/")


async def test_a_body_cut_short_is_a_read_error() -> None:
    server = Server(
        answer=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", close_after_answer=True
    )
    async with serving(server) as client:
        with pytest.raises(httpx.ReadError):
            await client.get("/")


async def test_a_malformed_chunk_fails_the_call_within_its_read_timeout() -> None:
    # aiohttp closes the connection on the bad chunk without waking the body's reader: the read
    # timeout has to end the wait, or the call would hang until the activity's own timeout.
    server = Server(answer=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", then=b"zz\r\n")
    async with serving(server, timeout=0.5) as client:
        with pytest.raises(httpx.TransportError):
            await asyncio.wait_for(client.get("/"), timeout=5)


async def test_a_refused_connection_is_a_connect_error() -> None:
    listening = await asyncio.start_server(Server().handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    listening.close()
    await listening.wait_closed()
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", transport=pooled_transport(LIMITS)
    ) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/")


def traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = TracerProvider()
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider, spans


async def test_each_call_is_a_client_span_under_the_caller_and_the_request_carries_it() -> None:
    provider, spans = traced()
    server = Server(delay=0)
    async with serving(server, tracer_provider=provider) as client:
        with provider.get_tracer("test").start_as_current_span("RunActivity:reserve_stock") as parent:
            response = await client.post("/internal/v1/reservations", json={"order_id": "o-1"})

    assert response.status_code == 200
    (call,) = [span for span in spans.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert call.name == "POST"
    assert call.parent is not None
    assert call.parent.span_id == parent.get_span_context().span_id
    assert call.context.trace_id == parent.get_span_context().trace_id
    assert dict(call.attributes or {}) == {
        "http.method": "POST",
        "http.url": f"{client.base_url}/internal/v1/reservations",
        "http.status_code": 200,
    }
    assert call.status.status_code is StatusCode.UNSET
    (head,) = server.heads
    context = call.context
    traceparent = f"traceparent: 00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert traceparent.encode() in head.lower()


async def test_a_refusal_or_a_failed_call_is_a_failed_span() -> None:
    provider, spans = traced()
    refusing = Server(delay=0, answer=b"HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\n\r\n")
    async with serving(refusing, tracer_provider=provider) as client:
        assert (await client.post("/internal/v1/payments/capture", json={})).status_code == 409
    async with serving(Server(answer=b"not http\r\n\r\n"), tracer_provider=provider) as client:
        with pytest.raises(Unreadable):
            await client.get("/")

    refused, failed = spans.get_finished_spans()
    assert (refused.status.status_code, dict(refused.attributes or {})["http.status_code"]) == (
        StatusCode.ERROR,
        409,
    )
    assert failed.status.status_code is StatusCode.ERROR
    assert "http.status_code" not in (failed.attributes or {})
    assert [event.name for event in failed.events] == ["exception"]


async def test_where_instrumentation_is_suppressed_a_call_makes_no_span_and_sends_no_context() -> None:
    provider, spans = traced()
    server = Server(delay=0)
    async with serving(server, tracer_provider=provider) as client:
        with provider.get_tracer("test").start_as_current_span("export"), suppress_http_instrumentation():
            assert (await client.get("/")).status_code == 200

    assert [span.name for span in spans.get_finished_spans()] == ["export"]
    (head,) = server.heads
    assert b"traceparent" not in head.lower()

"""What does one call through the worker's client layer cost the worker, in CPU?

Serves a fixed answer, with the headers a service's answer carries, from a process of its own on
127.0.0.1, so that only the calling side's CPU is counted. Then, each in a fresh process, calls it
through orchestrator.clients.ServiceClient (token, breaker, inner retries, httpx) untraced and traced
as the worker traces (its tracer provider, each call's client span from its transport, spans batched to
JSON lines files in a folder made for the run), by one caller and by `--callers` callers at once,
each making its calls one after the other, and prints the calling process's CPU per call. Figures,
not assertions; bounded by --calls.

    .venv/bin/python benchmarks/client_call_cost.py [--calls 2000] [--callers 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from static_token import StaticToken

from observability.tracing import TracingSettings, start_tracing, stop_tracing
from orchestrator.clients import ServiceClient

_BODY = b'{"order_id": "bench", "status": "RESERVED", "lines": [{"sku": "A", "quantity": 1}]}'
_ANSWER = b"\r\n".join(
    [
        b"HTTP/1.1 200 OK",
        b"Content-Type: application/json",
        b"Vary: Accept, Origin",
        b"Allow: POST, OPTIONS",
        b"X-Frame-Options: DENY",
        b"X-Content-Type-Options: nosniff",
        b"Referrer-Policy: same-origin",
        b"Cross-Origin-Opener-Policy: same-origin",
        b"Content-Length: %d" % len(_BODY),
        b"",
        _BODY,
    ]
)


class _Answering(asyncio.Protocol):
    """Answers every request on a kept-alive connection at once, whatever it asked."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        self.pending += data
        while (end := self.pending.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.pending[:end].split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.pending) < end + 4 + length:
                return
            self.pending = self.pending[end + 4 + length :]
            assert isinstance(self.transport, asyncio.Transport)
            self.transport.write(_ANSWER)


async def _serve() -> None:
    server = await asyncio.get_running_loop().create_server(_Answering, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes it


def _trace_like_the_worker(traces_dir: Path) -> None:
    """The worker's tracing: its provider, spans batched to its JSON lines files, and each call a
    client span whose context goes along."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    start_tracing("worker", TracingSettings(traces_dir=traces_dir), runs_workflows=True)
    HTTPXClientInstrumentor().instrument()


async def _calls(url: str, calls: int, callers: int) -> float:
    """CPU ms of this process per call, `callers` callers at once making `calls` calls in all."""
    client = ServiceClient("inventory_svc", url, tokens=StaticToken())
    body = {"order_id": "bench", "items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}]}

    async def call(number: int) -> None:
        await client.post(
            "/internal/v1/reservations",
            body,
            idempotency_key=f"order-bench:{number}",
            order_id="bench",
            workflow_id="order-bench",
        )

    async def caller(first: int, count: int) -> None:
        for number in range(first, first + count):
            await call(number)

    each = max(calls // callers, 1)
    try:
        await asyncio.gather(*(caller(number, 1) for number in range(callers)))  # every connection opened
        started = time.process_time()
        await asyncio.gather(*(caller(number * each, each) for number in range(callers)))
        return (time.process_time() - started) * 1000 / (each * callers)
    finally:
        await client.aclose()


def _measure(url: str, calls: int, callers: int, traced: bool) -> float:
    """The figure from a fresh process: tracing, once on, stays on for the process."""
    argv = [sys.executable, __file__, "--measure", url, "--calls", str(calls), "--callers", str(callers)]
    done = subprocess.run([*argv, "--traced"] if traced else argv, capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout))


def main(calls: int, callers: int) -> dict[str, dict[int, float]]:
    """CPU ms per call, untraced and traced, at one caller and at `callers`; printed as a table."""
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        figures = {
            side: {level: _measure(url, calls, level, side == "traced") for level in (1, callers)}
            for side in ("untraced", "traced")
        }
    finally:
        server.kill()
        server.wait()
    print("CPU ms per call through ServiceClient, the calling process's")
    print(f"{'calls in flight':>15}  {'untraced':>8}  {'traced':>8}")
    for level in (1, callers):
        print(f"{level:>15}  {figures['untraced'][level]:>8.3f}  {figures['traced'][level]:>8.3f}")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--callers", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        asyncio.run(_serve())
    elif options.measure:
        with tempfile.TemporaryDirectory() as traces:
            if options.traced:
                _trace_like_the_worker(Path(traces))
            figure = asyncio.run(_calls(options.measure, options.calls, options.callers))
            stop_tracing()
        print(json.dumps(figure))
    else:
        main(options.calls, options.callers)

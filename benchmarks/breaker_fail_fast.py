"""How fast does a call fail while its service's circuit breaker is open?

Runs a small HTTP server on 127.0.0.1, measures ordinary calls through the orchestrator's client
layer (the baseline), then makes the server answer 503 until the breaker opens and measures the
calls that fail fast. Prints p50/p99 of both and their ratio. Bounded: a fixed number of calls.

    .venv/bin/python benchmarks/breaker_fail_fast.py [--calls 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from static_token import StaticToken

from orchestrator.breakers import BreakerSettings, ServiceBreaker
from orchestrator.clients import ServiceClient
from orchestrator.errors import CircuitOpen, ServiceUnavailable


class _Handler(BaseHTTPRequestHandler):
    status = 200
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = (
            b'{"status": "CAPTURED"}'
            if self.status == 200
            else b'{"code": "down", "message": "", "details": {}}'
        )
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


async def _timed_calls(
    client: ServiceClient, calls: int, expect: type[BaseException] | tuple[type[BaseException], ...] | None
) -> list[float]:
    timings = []
    for i in range(calls):
        started = time.perf_counter()
        try:
            await client.post(
                "/capture",
                {"order_id": "bench"},
                idempotency_key=f"bench:{i}",
                order_id="bench",
                workflow_id="order-bench",
            )
        except BaseException as error:
            if expect is None or not isinstance(error, expect):
                raise
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _summary(name: str, timings: list[float]) -> float:
    ordered = sorted(timings)
    p50, p99 = statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]
    print(f"{name:<28} n={len(ordered):<5} p50={p50:8.3f} ms  p99={p99:8.3f} ms")
    return p50


async def main(calls: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    breaker = ServiceBreaker("payment_svc", BreakerSettings(fail_max=5, reset_seconds=600))
    client = ServiceClient("payment_svc", url, tokens=StaticToken(), breaker=breaker)
    try:
        baseline = _summary("closed, service answers 200", await _timed_calls(client, calls, None))
        _Handler.status = 503
        while breaker.state != "open":
            await _timed_calls(client, 1, (ServiceUnavailable, CircuitOpen))
        open_p50 = _summary("open, fails fast", await _timed_calls(client, calls, CircuitOpen))
        print(f"fail-fast p50 is {baseline / open_p50:.0f}x faster than a healthy call's p50")
    finally:
        await client.aclose()
        server.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    asyncio.run(main(parser.parse_args().calls))

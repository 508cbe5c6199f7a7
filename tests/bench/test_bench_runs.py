"""`sagactl bench` at a tiny size, run as a user runs it: it brings up a stack of its own, measures
both sides at two levels, on an empty start and again with past orders stored, runs the commands
phase against the framework floor, and writes the JSON and the plot it promises. With
SAGA_POSTGRES_URL set (CI's PostgreSQL pass) it runs with `--postgres` on that server instead, and
the backends' CPU must be counted per saga and per command too. Figures are not judged here (no
timed assertions): only that every saga and command was measured and every figure is there."""

import json
import os
import sys
from pathlib import Path

from infra.bench.saga_requests import COMMANDS
from infra.stack import SERVICES
from tests.support.processes import run_bounded

SAGACTL = Path(sys.executable).parent / "sagactl"
SIDE_KEYS = {
    "throughput_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "completed",
    "history_events_per_order",
    "processes",
}
COMMAND_FIGURES = {"requests", "requests_per_s", "cpu_ms_per_request"}


def run_bench(tmp_path: Path, *args: str) -> tuple[list[dict], str]:
    """The bench as a user runs it: only its arguments say which database it measures."""
    report = tmp_path / "bench.json"
    environ = {name: value for name, value in os.environ.items() if name != "SAGA_POSTGRES_URL"}
    done = run_bounded(
        [str(SAGACTL), "bench", *args, "--json", str(report)],
        env=environ | {"SAGA_VAR_DIR": str(tmp_path / "var")},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(report.read_text()), done.stdout


def assert_commands_measured(level: dict, orders: int, *, postgres: bool = False) -> None:
    """Every command on both sides, with its CPU per request and its statements, the same on both."""
    commands = level["commands"]
    assert list(commands) == list(COMMANDS)
    for command, row in commands.items():
        assert row["service"] == COMMANDS[command]
        for side in ("product", "floor"):
            figures = row[side]
            assert set(figures) >= COMMAND_FIGURES
            assert figures["requests"] == orders
            assert figures["cpu_ms_per_request"] >= 0
            assert ("postgres_cpu_ms_per_request" in figures) == postgres
        assert row["statements"]["product"] > 0
        # The floor runs the product's statements: the idempotency read, the effect, the completed record.
        assert row["statements"]["product"] == row["statements"]["floor"], (command, row["statements"])


def test_a_tiny_bench_measures_every_saga_and_command_and_writes_json_and_a_plot(tmp_path: Path) -> None:
    picture = tmp_path / "bench.png"
    postgres = os.environ.get("SAGA_POSTGRES_URL")
    levels, printed = run_bench(
        tmp_path,
        *("--orders", "3", "--concurrency", "1", "2", "--history", "50", "--plot", str(picture)),
        *(("--postgres", postgres) if postgres else ()),
    )

    assert [
        (level["stored_orders"], level["concurrency"], level["orders"], level["repeat"]) for level in levels
    ] == [
        (0, 1, 3, 1),
        (0, 2, 3, 1),
        (50, 1, 3, 1),
        (50, 2, 3, 1),
    ]
    for level in levels:
        assert set(level["floor"]) >= SIDE_KEYS
        assert SIDE_KEYS | {
            "accept_p50_ms",
            "accept_p99_ms",
            "first_wave_accept_p50_ms",
            "first_wave_accept_max_ms",
        } <= set(level["product"])
        assert level["floor"]["completed"] == level["product"]["completed"] == 3
        assert level["product"]["first_wave_accept_max_ms"] > 0
        assert level["product"]["history_events_per_order"] > 20
        assert level["floor"]["history_events_per_order"] > 20
        assert {"temporal", "order_svc", "relay", "worker", "floor_worker"} <= set(
            level["product"]["processes"]
        )
        assert level["ratios"]["throughput"] > 0
        assert level["ratios"]["p50"] > 0
        for service in SERVICES:
            served = level["product"]["processes"][service]
            assert served["requests"] >= 2 * 3  # two commands of each saga, at least
            assert served["cpu_ms_per_request"] >= 0
    for level in levels[:2]:
        assert_commands_measured(level, 3, postgres=bool(postgres))
    if postgres:  # the backends serving each side are processes of that side like any other
        for level in levels:
            assert "postgres" in level["floor"]["processes"]
            backends = level["product"]["processes"]["postgres"]
            assert backends["cpu_s"] > 0
            assert backends["cpu_ms_per_order"] > 0
        assert "postgres" in printed
    assert all("commands" not in level for level in levels[2:])  # measured once, on the empty start
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "orders (product) against a no-op saga" in printed
    assert "product with 50 past orders stored, against an empty start" in printed
    assert "CPU ms per HTTP request" in printed
    assert "commands at 2 concurrent" in printed

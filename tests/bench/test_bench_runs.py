"""`sagactl bench` at a tiny size, run as a user runs it: it brings up a stack of its own, measures
both sides at two levels, on an empty start and again with past orders stored, and writes the JSON
and the plot it promises. Figures are not judged here
(no timed assertions): only that every saga was measured and every figure is there."""

import json
import os
import subprocess
import sys
from pathlib import Path

SAGACTL = Path(sys.executable).parent / "sagactl"
SIDE_KEYS = {"throughput_per_s", "p50_ms", "p95_ms", "p99_ms", "completed", "history_events_per_order", "processes"}


def test_a_tiny_bench_measures_every_saga_and_writes_json_and_a_plot(tmp_path: Path) -> None:
    report, picture = tmp_path / "bench.json", tmp_path / "bench.png"
    done = subprocess.run(
        [str(SAGACTL), "bench", "--orders", "3", "--concurrency", "1", "2", "--history", "50",
         "--json", str(report), "--plot", str(picture)],
        env=os.environ | {"SAGA_VAR_DIR": str(tmp_path / "var")}, capture_output=True, text=True, timeout=240,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    levels = json.loads(report.read_text())
    assert [(level["stored_orders"], level["concurrency"], level["orders"], level["repeat"]) for level in levels] == [
        (0, 1, 3, 1), (0, 2, 3, 1), (50, 1, 3, 1), (50, 2, 3, 1),
    ]
    for level in levels:
        assert SIDE_KEYS <= set(level["floor"])
        assert SIDE_KEYS | {"accept_p50_ms", "accept_p99_ms"} <= set(level["product"])
        assert level["floor"]["completed"] == level["product"]["completed"] == 3
        assert level["product"]["history_events_per_order"] > 20 and level["floor"]["history_events_per_order"] > 20
        assert {"temporal", "order_svc", "relay", "worker", "floor_worker"} <= set(level["product"]["processes"])
        assert level["ratios"]["throughput"] > 0 and level["ratios"]["p50"] > 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "orders (product) against a no-op saga" in done.stdout
    assert "product with 50 past orders stored, against an empty start" in done.stdout

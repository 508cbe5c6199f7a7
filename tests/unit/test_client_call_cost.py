"""benchmarks/client_call_cost.py still runs: a few calls give every figure of its table."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "client_call_cost.py"


def test_the_benchmark_prints_a_cpu_figure_per_level_traced_and_untraced() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--calls", "40", "--callers", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = re.findall(r"^\s+(\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)$", done.stdout, re.MULTILINE)
    assert [row[0] for row in rows] == ["1", "4"], done.stdout
    assert all(float(figure) > 0 for row in rows for figure in row[1:]), done.stdout

"""benchmarks/sandbox_import_cost.py still runs: a few runs give its three figures."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sandbox_import_cost.py"


def test_the_benchmark_prints_a_cpu_figure_for_each_of_three_rounds() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", "5"], capture_output=True, text=True, timeout=120, check=True
    )
    figures = re.findall(r"^\s+(\d+\.\d+)$", done.stdout, re.MULTILINE)
    assert len(figures) == 3, done.stdout
    assert all(float(figure) > 0 for figure in figures), done.stdout

"""A chaos scenario run as a user runs it (`sagactl chaos ... --json`), and the checks every run must
pass: every order final as its kind demands, zero invariant violations, every final order notified
once, nothing dead-lettered."""

import json
import os
import sys
from pathlib import Path

from tests.support.processes import run_bounded

SAGACTL = Path(sys.executable).parent / "sagactl"


def run_scenario(
    tmp_path: Path, scenario: str, orders: int, *, rate: float = 5.0, extra: list[str] | None = None
) -> dict:
    """Run `scenario` with `orders` placed at `rate` a second (and `extra` arguments); its report,
    once the checks passed."""
    report_file = tmp_path / "report.json"
    argv = [str(SAGACTL), "chaos", scenario, "--orders", str(orders), "--rate", str(rate), "--seed", "7"]
    done = run_bounded(
        [*argv, *(extra or []), "--json", str(report_file)],
        env={**os.environ, "SAGA_VAR_DIR": str(tmp_path / "var")},  # SAGA_RABBITMQ_URL: tests/conftest.py
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_file.read_text())
    assert report["ok"]
    assert report["violations"] == 0
    assert report["not_final"] == []
    assert report["unexpected"] == []
    assert sum(report["by_outcome"].values()) == orders
    assert {"money", "stock", "liveness", "exactly_once", "events", "notifications"} <= {
        r["name"] for r in report["audit"]["invariants"]
    }
    final = sum(count for outcome, count in report["by_outcome"].items() if outcome != "PENDING")
    assert report["mail"]["distinct"] == final, "one message per final order"
    assert report["mail"]["orders_mailed_twice"] == 0
    assert report["dead_letters"] in (0, None)
    return report

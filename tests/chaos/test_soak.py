"""`sagactl chaos soak` in its short form: it places orders at the asked rate for the asked time
under the mixed faults, stops by itself, audits clean, and samples, judges and plots every process
of the stack. Half a minute is too short to call memory flat; the half-hour run and its figures
are in docs/resilience.md."""

import json

import pytest

from tests.support.chaos import run_scenario

pytestmark = pytest.mark.any_database  # the soak's runner and its watch of the processes

SECONDS, RATE = 30, 2


def test_a_short_soak_stops_by_itself_audited_clean_with_every_process_watched(tmp_path):
    plot = tmp_path / "soak.png"
    report = run_scenario(tmp_path, "soak", int(SECONDS * RATE), rate=RATE, extra=["--plot", str(plot)])
    verdicts = {verdict["process"]: verdict for verdict in report["soak"]["verdicts"]}
    assert {"temporal", "worker", "relay", "order_svc", "payment_svc", "inventory_svc", "notifier"} <= set(
        verdicts
    )
    for verdict in verdicts.values():
        assert verdict["verdict"] == "too short", verdict
        assert verdict["rss_start_mb"] > 10
        assert verdict["descriptors_start"] > 0
        assert verdict["threads_start"] > 0
    files = report["soak"]["files"]
    assert files["log_bytes"][1] > files["log_bytes"][0], "the logs were watched as they grew"
    assert "temporal.sqlite-wal" in files["wal_largest_bytes"]  # the services may be on PostgreSQL
    judged_files = {verdict["files"]: verdict["verdict"] for verdict in files["verdicts"]}
    assert {"logs", "traces", "temporal.sqlite-wal"} <= set(judged_files)
    assert set(judged_files.values()) == {"too short"}
    assert plot.read_bytes().startswith(b"\x89PNG")
    [samples_file] = (tmp_path / "var").rglob("soak-samples.json")
    samples = json.loads(samples_file.read_text())
    assert len(samples["stack"]) >= 5
    assert {sample["process"] for sample in samples["processes"]} >= set(verdicts)

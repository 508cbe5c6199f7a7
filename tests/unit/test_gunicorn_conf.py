"""gunicorn's master starts from the metrics files of live processes only: a restarted service keeps
its running publisher's and notifier's figures and drops those of processes that are gone."""

import os
import subprocess
import sys

from chassis import gunicorn_conf


def test_the_master_removes_the_metrics_of_dead_processes_only(tmp_path, monkeypatch):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    live = tmp_path / f"counter_{os.getpid()}.db"
    dead = tmp_path / f"histogram_{dead_pid}.db"
    stray = tmp_path / "gauge_livesum_x.db"
    for path in (live, dead, stray):
        path.write_bytes(b"\0")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    gunicorn_conf.on_starting(server=None)

    assert sorted(path.name for path in tmp_path.iterdir()) == [live.name]


def test_the_master_makes_the_directory_when_it_is_missing(tmp_path, monkeypatch):
    directory = tmp_path / "metrics" / "order_svc"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    gunicorn_conf.on_starting(server=None)

    assert directory.is_dir()

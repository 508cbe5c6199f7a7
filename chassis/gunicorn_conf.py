"""gunicorn settings every service runs with: ``gunicorn -c python:chassis.gunicorn_conf config.wsgi``.

A request line (method, path and query) may be as long as gunicorn allows (8190 bytes): anything
within it reaches the service and is answered in its error shape.

The master loads the application once (`preload_app`) and forks its workers from it: a worker
starts at the cost of a fork, not of a second import of Django, DRF and the service (about a second
of CPU each). No thread runs in the master and no connection is kept there: it closes the database
connections the load opened before each fork, and the tracer provider (with its exporter's thread)
starts in each worker after the fork (`post_fork`, chassis.telemetry).

With PROMETHEUS_MULTIPROC_DIR set, each worker process writes its metrics to files there and
/metrics sums them. The service's event publisher and notifier write theirs there too, so the
master, when it reads this file (before it loads the application, whose metrics write there too),
makes the folder and removes only the files of processes that are gone (a restarted master would
otherwise wipe a running publisher's figures); it forgets a worker that exits.
"""

import os
from pathlib import Path
from typing import Protocol

limit_request_line = 8190
preload_app = True


class _Worker(Protocol):
    """What `child_exit` reads of gunicorn's worker (gunicorn ships no type information)."""

    pid: int


def prepare_metrics_folder() -> None:
    """Make PROMETHEUS_MULTIPROC_DIR (when set) and remove the metrics files of processes that are gone."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for metrics_file in Path(directory).glob("*.db"):
            if not _alive(_writer(metrics_file)):
                metrics_file.unlink(missing_ok=True)


def _writer(metrics_file: Path) -> int:
    """The process id prometheus_client names a metrics file after (`counter_1234.db`); 0 if none."""
    pid = metrics_file.stem.rpartition("_")[2]
    return int(pid) if pid.isdigit() else 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def child_exit(server: object, worker: _Worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # prometheus_client's is unannotated


def pre_fork(server: object, worker: object) -> None:
    from django.conf import settings
    from django.db import connections

    if settings.configured:  # a socket or SQLite handle must not be shared with the worker
        connections.close_all()


def post_fork(server: object, worker: object) -> None:
    from chassis.telemetry import start_tracing_after_fork

    start_tracing_after_fork()


prepare_metrics_folder()

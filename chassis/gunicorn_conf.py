"""gunicorn settings every service runs with: ``gunicorn -c python:chassis.gunicorn_conf config.wsgi``.

A request line (method, path and query) may be as long as gunicorn allows (8190 bytes): anything
within it reaches the service and is answered in its error shape.

With PROMETHEUS_MULTIPROC_DIR set, each worker process writes its metrics to files there and
/metrics sums them. The service's event publisher and notifier write theirs there too, so the master
starts by removing only the files of processes that are gone (a restarted master would otherwise
wipe a running publisher's figures), and forgets a worker that exits.
Nothing else happens in the master: tracing starts in each worker (wsgi.py), after the fork.
"""

import os
from pathlib import Path
from typing import Protocol

limit_request_line = 8190


class _Worker(Protocol):
    """What `child_exit` reads of gunicorn's worker (gunicorn ships no type information)."""

    pid: int


def on_starting(server: object) -> None:
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

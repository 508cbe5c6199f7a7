"""gunicorn settings every service runs with: ``gunicorn -c python:chassis.gunicorn_conf config.wsgi``.

A request line (method, path and query) may be as long as gunicorn allows (8190 bytes): anything
within it reaches the service and is answered in its error shape.

With PROMETHEUS_MULTIPROC_DIR set, each worker process writes its metrics to files there and
/metrics sums them: the master starts from an empty directory, and forgets a worker that exits.
Nothing else happens in the master: tracing starts in each worker (wsgi.py), after the fork.
"""

import os
import shutil
from pathlib import Path
from typing import Protocol

limit_request_line = 8190


class _Worker(Protocol):
    """What `child_exit` reads of gunicorn's worker (gunicorn ships no type information)."""

    pid: int


def on_starting(server: object) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True)


def child_exit(server: object, worker: _Worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # prometheus_client's is unannotated

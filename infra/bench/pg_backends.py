"""CPU of the PostgreSQL backends that serve given databases, over a stretch of time.

PostgreSQL runs one backend process per client connection. `BackendCpu` lists the backends of the
named databases in pg_stat_activity (by `datname`: the client backends and any parallel workers
they start) and reads each one's CPU from /proc/<pid>/stat when the stretch begins, every
`interval` seconds during it, and when it ends. A backend's share is its last reading minus its
first, the first being 0 for a backend born during the stretch (its whole life falls in it).

Limits, all undercounts: it needs the server on this machine, in this pid namespace (a server in a
container or on another host shows pids that /proc here does not know, and counts nothing); a
backend that ends loses what it spent since the last sample (at most `interval`), and one that is
born and ends between two samples is not seen at all (the services keep their connections, so
both are rare); the server's shared processes (WAL writer, checkpointer, background writer,
autovacuum) work for every database at once and are not counted. Its own connection goes to the
server's maintenance database, so it never counts itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import psycopg

from infra.bench.procstats import process_cpu_seconds
from infra.databases import server_url


class BackendCpu:
    """Use as `with BackendCpu(url, databases) as meter: ...`; then `meter.cpu_seconds`."""

    def __init__(self, url: str, databases: Iterable[str], interval: float = 0.2) -> None:
        self.server = server_url(url)
        self.databases = sorted(databases)
        self.interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._sample_until_stopped, name="postgres-backends", daemon=True
        )
        self._connection: psycopg.Connection | None = None

    @property
    def cpu_seconds(self) -> float:
        return sum(self._last[pid] - self._first[pid] for pid in self._last)

    def __enter__(self) -> BackendCpu:
        self._connection = psycopg.connect(f"{self.server}/postgres", autocommit=True, connect_timeout=10)
        self._first = process_cpu_seconds(self._backends())
        self._last = dict(self._first)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._sample()
        finally:
            assert self._connection is not None
            self._connection.close()

    def _backends(self) -> list[int]:
        assert self._connection is not None
        rows = self._connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)", [self.databases]
        ).fetchall()
        return [pid for (pid,) in rows]

    def _sample(self) -> None:
        for pid, seconds in process_cpu_seconds(self._backends()).items():
            self._first.setdefault(pid, 0.0)
            self._last[pid] = seconds

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

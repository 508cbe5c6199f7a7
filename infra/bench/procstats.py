"""CPU seconds and resident memory of process groups, and CPU seconds of single processes, read from
/proc (Linux). The stack runs each process (with its children: gunicorn's workers) in a process group
of its own; PostgreSQL's backends are single processes of the server's group."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


POOL_THREAD_NAMES = frozenset({"tokio-rt-worker"})
"""Threads a runtime spawns for a burst of work and ends once idle: the Temporal SDK's (Rust, tokio)."""


class GroupStats(NamedTuple):
    """A process group's CPU seconds so far, resident bytes, threads, and open descriptors and pool
    threads (POOL_THREAD_NAMES; both counted only when asked for)."""

    cpu_seconds: float
    rss_bytes: int
    threads: int
    descriptors: int
    pool_threads: int = 0


def group_stats(groups: Mapping[str, int], *, descriptors: bool = False) -> dict[str, GroupStats]:
    """Per named group (name -> pgid), summed over its live processes; one pass over /proc. With
    `descriptors`, open descriptors and pool threads are counted too."""
    names = {pgid: name for name, pgid in groups.items()}
    totals = dict.fromkeys(groups, GroupStats(0.0, 0, 0, 0))
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = _fields(stat_file.read_text())
            name = names.get(int(fields[2]))
            if name is None:
                continue
            open_files = len(os.listdir(stat_file.parent / "fd")) if descriptors else 0
            pooled = _pool_threads(stat_file.parent) if descriptors else 0
        except OSError:  # ended meanwhile
            continue
        total = totals[name]
        totals[name] = GroupStats(
            total.cpu_seconds + _cpu(fields),
            total.rss_bytes + int(fields[21]) * _PAGE,
            total.threads + int(fields[17]),
            total.descriptors + open_files,
            total.pool_threads + pooled,
        )
    return totals


def _pool_threads(process: Path) -> int:
    count = 0
    for comm in process.glob("task/*/comm"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            count += comm.read_text().strip() in POOL_THREAD_NAMES
    return count


def _usage(groups: Mapping[str, int]) -> dict[str, tuple[float, int]]:
    """Per named group (name -> pgid): CPU seconds so far and resident bytes."""
    return {name: (stats.cpu_seconds, stats.rss_bytes) for name, stats in group_stats(groups).items()}


def _fields(stat: str) -> list[str]:
    """The fields of a /proc/<pid>/stat line after "(comm)", which may itself hold spaces: state ppid
    pgrp ... utime (11) stime (12) ... num_threads (17) ... rss (21), 0-based."""
    return stat[stat.rindex(")") + 2 :].split()


def _cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _scheduler_cpu(pid: int | str) -> float:
    """CPU seconds of a single-threaded process as the scheduler counts it, to the nanosecond
    (`se.sum_exec_runtime`, in milliseconds, in /proc/<pid>/sched)."""
    for line in Path(f"/proc/{pid}/sched").read_text().splitlines():
        if line.startswith("se.sum_exec_runtime"):
            return float(line.rsplit(":", 1)[1]) / 1000
    raise OSError(f"/proc/{pid}/sched has no se.sum_exec_runtime")


def _has_scheduler_cpu() -> bool:
    try:
        _scheduler_cpu("self")
    except (OSError, ValueError):
        return False
    return True


_PRECISE = _has_scheduler_cpu()


def process_cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds used so far by each of `pids` (single-threaded processes, like PostgreSQL's
    backends) that is still running. Where the kernel exposes the scheduler's own count it is read
    from there, exact to the nanosecond; otherwise from /proc/<pid>/stat, in clock ticks (10 ms),
    which rounds a backend that works a few milliseconds down to nothing."""
    seconds = {}
    for pid in pids:
        try:
            seconds[pid] = (
                _scheduler_cpu(pid) if _PRECISE else _cpu(_fields(Path(f"/proc/{pid}/stat").read_text()))
            )
        except OSError:  # ended
            continue
    return seconds


def cpu_seconds(groups: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds used so far by the live members of each named group (name -> pgid)."""
    return {name: cpu for name, (cpu, _) in _usage(groups).items()}


class PeakMemory:
    """Samples the summed resident memory of each group every `interval` seconds while running."""

    def __init__(self, groups: Mapping[str, int], interval: float = 0.25) -> None:
        self.groups = dict(groups)
        self.interval = interval
        self.peak_bytes = dict.fromkeys(self.groups, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            for name, (_, rss) in _usage(self.groups).items():
                self.peak_bytes[name] = max(self.peak_bytes[name], rss)
            if self._stop.wait(self.interval):
                return

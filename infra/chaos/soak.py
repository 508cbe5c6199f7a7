"""A long soak: the stack's processes watched over a chaos run of many orders, for what a short run
cannot show (memory that creeps, descriptors or threads that leak, files that grow without bound).

A Sampler reads every process group of the stack from /proc at a steady interval: resident memory,
CPU seconds, open file descriptors and threads, summed over the group (gunicorn's workers are in
their service's group); and beside them the SQLite write-ahead logs, the log files, the trace files
and how many orders are final. `judge` says, per process, whether it stayed flat after warm-up, each
incarnation on its own (a process killed and restarted starts again from nothing), and `plot` draws
the figures over time.
"""

from __future__ import annotations

import itertools
import json
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.bench.procstats import group_stats
from infra.stack import Stack
from observability.tracing import TRACE_FILES_KEPT

MEMORY_GROWTH_ALLOWED = 0.10
"""Resident memory may end at most this much above where it stood after warm-up."""
DESCRIPTORS_ALLOWED = 5
"""Open descriptors may end at most this many above where they stood (connections in flight)."""
THREADS_ALLOWED = 2
"""Threads may end at most this many above where they stood (a pool between two tasks)."""
JUDGED_AT_LEAST = 300.0
"""Seconds of an incarnation after its warm-up below which it is too short to call flat or growing."""
_SMOOTHING = 3
"""Samples whose median (memory) or least value (descriptors, threads) stands for the start and for
the end of a stretch. Descriptors and threads come and go with the work in flight (connections
being made, a pool's threads spawned for a burst): a leak raises the least of them, a burst does
not. The threads judged leave out the pool threads of the Temporal SDK's runtime, which a burst
(the backlog after Temporal comes back) spawns and which stay while the load keeps them busy and
end once it stops; they are sampled all the same."""


@dataclass(frozen=True)
class ProcessSample:
    seconds: float
    """Since the sampling began."""
    process: str
    pid: int
    """The group leader's pid: a new one is a new incarnation."""
    rss_bytes: int
    cpu_seconds: float
    descriptors: int
    threads: int
    pool_threads: int = 0
    """Of `threads`, those of a pool that grows for a burst and shrinks when idle (the Temporal SDK's)."""


@dataclass(frozen=True)
class StackSample:
    seconds: float
    final_orders: int
    wal_bytes: dict[str, int]
    """Each SQLite write-ahead log under the stack's folder, by file name."""
    log_bytes: int
    trace_bytes: int
    trace_files: int
    largest_log_bytes: int = 0
    """The largest single log file (a rotated part included)."""
    largest_trace_bytes: int = 0
    """The largest single trace file."""
    live_trace_files: int = 0
    """Trace files of processes still running: each may grow to its cap before the folder is pruned."""


@dataclass(frozen=True)
class ProcessVerdict:
    process: str
    incarnations: int
    judged_seconds: float
    """How long the longest incarnation was watched after its warm-up."""
    rss_start_mb: float
    rss_end_mb: float
    descriptors_start: int
    descriptors_end: int
    threads_start: int
    threads_end: int

    @property
    def rss_growth(self) -> float:
        return self.rss_end_mb / self.rss_start_mb - 1 if self.rss_start_mb else 0.0

    @property
    def verdict(self) -> str:
        """ "flat", "growing" (memory, descriptors or threads beyond what is allowed), or "too short"."""
        if self.judged_seconds < JUDGED_AT_LEAST:
            return "too short"
        flat = (
            self.rss_growth <= MEMORY_GROWTH_ALLOWED
            and self.descriptors_end - self.descriptors_start <= DESCRIPTORS_ALLOWED
            and self.threads_end - self.threads_start <= THREADS_ALLOWED
        )
        return "flat" if flat else "growing"

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "rss_growth": round(self.rss_growth, 4), "verdict": self.verdict}


class Sampler:
    """Samples `stack` every `every` seconds on a thread of its own, between `start` and `stop`;
    `final_orders` says how many orders are final now (None when it cannot be told)."""

    def __init__(self, stack: Stack, final_orders: Callable[[], int | None], *, every: float = 15.0) -> None:
        self.stack, self.final_orders, self.every = stack, final_orders, every
        self.processes: list[ProcessSample] = []
        self.stack_samples: list[StackSample] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stopped.wait(self.every):
                return

    def sample(self) -> None:
        now = time.monotonic() - self._started
        groups = {name: process.pid for name, process in self.stack.processes.items() if process.pid}
        for name, stats in group_stats(groups, descriptors=True).items():
            if stats.threads:  # a group with no live process is one being restarted
                self.processes.append(
                    ProcessSample(
                        round(now, 1),
                        name,
                        groups[name],
                        stats.rss_bytes,
                        round(stats.cpu_seconds, 2),
                        stats.descriptors,
                        stats.threads,
                        stats.pool_threads,
                    )
                )
        var_dir = self.stack.config.var_dir
        traces = {path: _size(path) for path in (var_dir / "traces").glob("*") if path.is_file()}
        logs = [_size(path) for path in self.stack.config.log_dir.glob("*.log*")]
        final = self.final_orders()
        self.stack_samples.append(
            StackSample(
                seconds=round(now, 1),
                final_orders=final if final is not None else -1,
                wal_bytes={path.name: _size(path) for path in sorted(var_dir.glob("*-wal"))},
                log_bytes=sum(logs),
                trace_bytes=sum(traces.values()),
                trace_files=len(traces),
                largest_log_bytes=max(logs, default=0),
                largest_trace_bytes=max(traces.values(), default=0),
                live_trace_files=sum(_writer_alive(path) for path in traces),
            )
        )

    def as_json(self) -> dict[str, object]:
        return {
            "every_seconds": self.every,
            "processes": [asdict(sample) for sample in self.processes],
            "stack": [asdict(sample) for sample in self.stack_samples],
        }


def judge(
    samples: list[ProcessSample], *, warm_up: float, until: float | None = None
) -> list[ProcessVerdict]:
    """Per process, its longest incarnation from `warm_up` seconds after it began (or after the
    sampling began, for the first) up to `until` (the run's end: the audit after it reads every
    saga's history, which no steady load does): where its memory, descriptors and threads started
    and ended."""
    incarnations: dict[str, dict[int, list[ProcessSample]]] = defaultdict(lambda: defaultdict(list))
    for sample in samples:
        if until is None or sample.seconds <= until:
            incarnations[sample.process][sample.pid].append(sample)
    verdicts = []
    for process, by_pid in sorted(incarnations.items()):
        stretches = []
        for run in by_pid.values():
            settled = [sample for sample in run if sample.seconds >= run[0].seconds + warm_up]
            if len(settled) >= 2 * _SMOOTHING:
                stretches.append(settled)
        if not stretches:
            continue
        longest = max(stretches, key=lambda run: run[-1].seconds - run[0].seconds)
        head, tail = longest[:_SMOOTHING], longest[-_SMOOTHING:]
        verdicts.append(
            ProcessVerdict(
                process=process,
                incarnations=len(by_pid),
                judged_seconds=round(longest[-1].seconds - longest[0].seconds, 1),
                rss_start_mb=round(_median(head, "rss_bytes") / 2**20, 1),
                rss_end_mb=round(_median(tail, "rss_bytes") / 2**20, 1),
                descriptors_start=min(sample.descriptors for sample in head),
                descriptors_end=min(sample.descriptors for sample in tail),
                threads_start=min(sample.threads - sample.pool_threads for sample in head),
                threads_end=min(sample.threads - sample.pool_threads for sample in tail),
            )
        )
    return verdicts


def steady_until(sampler: Sampler, orders: int) -> float | None:
    """Seconds into the sampling when the last of `orders` was final (None if it was never seen)."""
    return next((sample.seconds for sample in sampler.stack_samples if sample.final_orders >= orders), None)


def file_growth(
    sampler: Sampler, *, warm_up: float, until: float | None = None, file_cap: int | None = None
) -> dict[str, object]:
    """What the files did over the run: the largest each write-ahead log grew to, the logs' and
    traces' bytes (and trace files) at the first and the last sample, and a verdict per kind of file
    (`judge_files`; `file_cap`: the size at which the stack rotates its logs and trace files)."""
    samples = sampler.stack_samples
    if not samples:
        return {}
    first, last = samples[0], samples[-1]
    largest: dict[str, int] = defaultdict(int)
    for sample in samples:
        for name, size in sample.wal_bytes.items():
            largest[name] = max(largest[name], size)
    return {
        "wal_largest_bytes": dict(sorted(largest.items())),
        "wal_last_bytes": last.wal_bytes,
        "log_bytes": [first.log_bytes, last.log_bytes],
        "trace_bytes": [first.trace_bytes, last.trace_bytes],
        "trace_files": [first.trace_files, last.trace_files],
        "verdicts": [
            verdict.as_json()
            for verdict in judge_files(samples, warm_up=warm_up, until=until, file_cap=file_cap)
        ],
    }


FILES_GROWTH_ALLOWED = 0.10
"""An uncapped file's largest size in the second half of a soak may stand at most this much above
its largest in the first half."""
CAP_SLACK = 0.25
"""A capped file may stand this much above its cap: what is written between two looks at its size."""
WAL_CHECKPOINT_BYTES = 1000 * 4096
"""SQLite checkpoints a write-ahead log once it holds 1000 pages (4 KiB each by default) and then
writes it again from its start: a log that stays under that size (CAP_SLACK allowed) has not yet
reached the bound SQLite keeps it to, however slowly it grows on the way."""


@dataclass(frozen=True)
class FileVerdict:
    """Whether one kind of file stayed within bounds over the judged stretch.

    The logs and the traces, which the stack rotates at a cap, are bounded when no single file ever
    stood above its cap (CAP_SLACK allowed) and the traces folder never held more than its kept
    files and one growing file per process still running; then no run, however long, can make them
    bigger. A write-ahead log, which SQLite's checkpoints bound, is bounded when its largest size in
    the second half stands no more than FILES_GROWTH_ALLOWED above its largest in the first, or when
    it never reached the size at which SQLite checkpoints it (WAL_CHECKPOINT_BYTES)."""

    files: str
    judged_seconds: float
    first_half_peak_mb: float
    second_half_peak_mb: float
    cap_mb: float | None = None
    largest_file_mb: float | None = None
    over_budget: bool = False
    """The traces folder held more than its budget at some sample."""

    @property
    def verdict(self) -> str:
        """ "bounded", "growing", or "too short"."""
        if self.judged_seconds < JUDGED_AT_LEAST:
            return "too short"
        if self.cap_mb is not None and self.largest_file_mb is not None:
            bounded = self.largest_file_mb <= self.cap_mb * (1 + CAP_SLACK) and not self.over_budget
        else:
            bounded = self.second_half_peak_mb <= max(
                self.first_half_peak_mb * (1 + FILES_GROWTH_ALLOWED),
                WAL_CHECKPOINT_BYTES * (1 + CAP_SLACK) / 2**20,
            )
        return "bounded" if bounded else "growing"

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "verdict": self.verdict}


def judge_files(
    samples: list[StackSample], *, warm_up: float, until: float | None = None, file_cap: int | None = None
) -> list[FileVerdict]:
    """The logs, the traces and each write-ahead log, from `warm_up` seconds into the sampling to
    `until`; the logs and traces against `file_cap` where it is known (see FileVerdict)."""
    judged = [
        sample
        for sample in samples
        if sample.seconds >= warm_up and (until is None or sample.seconds <= until)
    ]
    if len(judged) < 2:
        return []
    seconds = round(judged[-1].seconds - judged[0].seconds, 1)
    first_half = [sample.seconds <= (judged[0].seconds + judged[-1].seconds) / 2 for sample in judged]

    def peaks(sizes: list[int]) -> tuple[float, float]:
        first = max(size for size, early in zip(sizes, first_half, strict=True) if early)
        second = max(size for size, early in zip(sizes, first_half, strict=True) if not early)
        return round(first / 2**20, 2), round(second / 2**20, 2)

    cap_mb = None if file_cap is None else round(file_cap / 2**20, 2)
    largest_log = max(sample.largest_log_bytes for sample in judged)
    largest_trace = max(sample.largest_trace_bytes for sample in judged)
    over_budget = file_cap is not None and any(
        sample.trace_bytes > (TRACE_FILES_KEPT + sample.live_trace_files) * file_cap * (1 + CAP_SLACK)
        for sample in judged
    )
    verdicts = [
        FileVerdict("logs", seconds, *peaks([sample.log_bytes for sample in judged]), cap_mb,
                    round(largest_log / 2**20, 2)),
        FileVerdict("traces", seconds, *peaks([sample.trace_bytes for sample in judged]), cap_mb,
                    round(largest_trace / 2**20, 2), over_budget),
    ]  # fmt: skip
    for name in sorted({name for sample in judged for name in sample.wal_bytes}):
        verdicts.append(
            FileVerdict(name, seconds, *peaks([sample.wal_bytes.get(name, 0) for sample in judged]))
        )
    return verdicts


def plot(sampler: Sampler, path: Path, *, title: str) -> None:
    """Memory, CPU, open descriptors per process, orders final per second, and the logs', traces' and
    write-ahead logs' bytes, over time, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[ProcessSample]] = defaultdict(list)
    for sample in sampler.processes:
        series[sample.process].append(sample)
    figure, axes = plt.subplots(5, 1, figsize=(11, 16), sharex=True)
    for axis in axes:
        axis.set_prop_cycle(
            color=[plt.get_cmap("tab20")(index / 20) for index in range(20)]
        )  # one per process
    for process, samples in sorted(series.items()):
        minutes = [sample.seconds / 60 for sample in samples]
        axes[0].plot(minutes, [sample.rss_bytes / 2**20 for sample in samples], label=process, linewidth=1)
        axes[2].plot(minutes, [sample.descriptors for sample in samples], linewidth=1)
        cpu = [
            max(0.0, (after.cpu_seconds - before.cpu_seconds) / (after.seconds - before.seconds) * 100)
            if after.pid == before.pid and after.seconds > before.seconds
            else 0.0
            for before, after in itertools.pairwise(samples)
        ]
        axes[1].plot(minutes[1:], cpu, linewidth=1)
    counted = [sample for sample in sampler.stack_samples if sample.final_orders >= 0]
    rates = [
        (after.seconds / 60, (after.final_orders - before.final_orders) / (after.seconds - before.seconds))
        for before, after in itertools.pairwise(counted)
        if after.seconds > before.seconds
    ]
    axes[3].plot([minute for minute, _ in rates], [rate for _, rate in rates], color="black", linewidth=1)
    stack_minutes = [sample.seconds / 60 for sample in sampler.stack_samples]
    for files, colour, sizes in (
        ("logs", "black", [sample.log_bytes for sample in sampler.stack_samples]),
        ("traces", "tab:blue", [sample.trace_bytes for sample in sampler.stack_samples]),
        (
            "write-ahead logs",
            "tab:orange",
            [sum(sample.wal_bytes.values()) for sample in sampler.stack_samples],
        ),
    ):
        axes[4].plot(stack_minutes, [size / 2**20 for size in sizes], label=files, color=colour, linewidth=1)
    axes[4].legend(loc="upper left", fontsize=7)
    for axis, label in zip(
        axes,
        (
            "resident memory (MiB)",
            "CPU (% of one core)",
            "open descriptors",
            "orders final per second",
            "files (MiB, all together)",
        ),
        strict=True,
    ):
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[4].set_xlabel("minutes")
    axes[0].legend(loc="upper left", fontsize=7, ncol=4)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def write_samples(sampler: Sampler, verdicts: list[ProcessVerdict], path: Path) -> None:
    path.write_text(
        json.dumps({**sampler.as_json(), "verdicts": [verdict.as_json() for verdict in verdicts]}, indent=1)
    )


def _median(samples: list[ProcessSample], field: str) -> float:
    return float(statistics.median(getattr(sample, field) for sample in samples))


def _writer_alive(trace_file: Path) -> bool:
    """Whether the process a trace file is named after (`<service>-<pid>.jsonl`) is still running."""
    pid = trace_file.name.split(".", 1)[0].rsplit("-", 1)[-1]
    return trace_file.name.endswith(".jsonl") and pid.isdigit() and Path(f"/proc/{pid}").exists()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

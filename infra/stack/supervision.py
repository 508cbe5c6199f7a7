"""Supervision: every process that dies is restarted, with backoff, and its death and return logged;
one that cannot be started again is given up on, and the supervisor's owner told."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from infra.stack.config import StackError, StartCancelled
from infra.stack.process import ManagedProcess

log = logging.getLogger("infra.stack")


@dataclass(frozen=True)
class RestartPolicy:
    """How the stack paces restarts: the first after `initial_backoff` seconds, each further one
    twice as long, never more than `max_backoff`; a process that stayed up `reset_after` seconds
    starts over at `initial_backoff`. Processes are looked at every `poll_interval` seconds.

    A process that dies before it is ready is started at most `start_attempts` times in a row, when
    the stack starts and after a death alike, then given up: with the defaults, 4 attempts with 0.5,
    1 and 2 s between them. A restart that is not ready in time counts as one of those attempts."""

    initial_backoff: float = 0.5
    max_backoff: float = 10.0
    reset_after: float = 30.0
    poll_interval: float = 0.25
    start_attempts: int = 4
    log_check_every: float = 5.0

    def backoff(self, failures: int) -> float:
        """Seconds to wait before the restart that follows `failures` failures in a row (1 or more)."""
        # The exponent is capped: from 2**1024 on the power no longer fits a float, and the watcher
        # of a process that keeps failing would die of an OverflowError after some 1000 restarts.
        return min(self.initial_backoff * 2.0 ** min(failures - 1, 64), self.max_backoff)


class SupervisionEvent(NamedTuple):
    """Something the supervisor saw or did: a death, a failed restart, a process back."""

    time: float  # seconds since the epoch
    name: str  # the process
    description: str  # e.g. "was killed by SIGKILL; restarting in 0.5 s (restart 1)"


class Supervisor:
    """Restarts any of its processes that dies, as an orchestrator would, one watcher thread each.

    For a dead process it records and logs how it died, ends what is left of its process group (a
    SIGKILLed gunicorn master leaves workers holding the port), waits the policy's backoff, starts
    it again with the same argv and environment and waits until it is ready; a restart that dies or
    is not ready within `ready_timeout` counts as one more failure. After the policy's
    `start_attempts` failed restarts in a row, or at once when a restart cannot work (CannotStart),
    it stops that process, keeps the error as `failure` and sets `on_failure`. Every
    `log_check_every` seconds it keeps each process's log within `log_max_bytes` (None: unbounded;
    ManagedProcess.rotate_log). `stop` ends
    supervision only: once it returns nothing is restarted any more, and stopping the processes is
    the caller's part.
    """

    def __init__(
        self,
        processes: Mapping[str, ManagedProcess],
        *,
        policy: RestartPolicy,
        ready_timeout: float,
        on_failure: threading.Event | None = None,
        log_max_bytes: int | None = None,
    ) -> None:
        self.processes = dict(processes)
        self.policy = policy
        self.ready_timeout = ready_timeout
        self.log_max_bytes = log_max_bytes
        self.on_failure = on_failure
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._restarts = dict.fromkeys(self.processes, 0)
        self._events: list[SupervisionEvent] = []
        self._failure: StackError | None = None
        self._threads = [
            threading.Thread(target=self._watch, args=(name, process), name=f"supervise {name}", daemon=True)
            for name, process in self.processes.items()
        ]

    @property
    def restarts(self) -> dict[str, int]:
        """How many times each process was started again."""
        with self._lock:
            return dict(self._restarts)

    @property
    def events(self) -> list[SupervisionEvent]:
        """Every death, failed restart and recovery so far, oldest first."""
        with self._lock:
            return list(self._events)

    @property
    def failure(self) -> StackError | None:
        """Why the first process given up on could not be started again; None while none was."""
        with self._lock:
            return self._failure

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop supervising: a pending restart is dropped, a restart waiting for readiness abandoned."""
        self._stopping.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()

    def _watch(self, name: str, process: ManagedProcess) -> None:
        failures = 0
        up_since = log_checked = time.monotonic()
        while not self._stopping.wait(self.policy.poll_interval):
            if (
                self.log_max_bytes is not None
                and time.monotonic() - log_checked >= self.policy.log_check_every
            ):
                log_checked = time.monotonic()
                process.rotate_log(self.log_max_bytes)
            if process.is_alive():
                continue
            if time.monotonic() - up_since >= self.policy.reset_after:
                failures = 0
            what_happened: str | None = process.exit_description()
            failed_restarts = 0
            while what_happened is not None:
                failures += 1
                delay = self.policy.backoff(failures)
                with self._lock:
                    restart = self._restarts[name] + 1
                self._record(
                    logging.WARNING, name, f"{what_happened}; restarting in {delay:.1f} s (restart {restart})"
                )
                restart_at = time.monotonic() + delay
                process.stop()  # whatever is left of its group, so that its ports are free again
                if self._stopping.wait(max(0.0, restart_at - time.monotonic())):
                    return
                try:
                    what_happened = self._restart(name, process, restart, failed_restarts)
                except StartCancelled:
                    return
                except StackError as error:  # CannotStart, or the last attempt failed
                    self._give_up(name, process, error)
                    return
                failed_restarts += 1
            up_since = time.monotonic()

    def _restart(self, name: str, process: ManagedProcess, restart: int, failed_before: int) -> str | None:
        """Start `process` again and wait until it is ready: None, or what went wrong. StackError when
        it should not be tried again: it cannot start at all, or this was its last attempt."""
        with self._lock:
            self._restarts[name] = restart
        began = time.monotonic()
        process.start()  # CannotStart, at once
        try:
            process.wait_ready(self.ready_timeout, cancel=self._stopping)
        except StartCancelled:
            raise
        except StackError:
            if failed_before + 1 >= self.policy.start_attempts:
                raise
            if process.is_alive():
                return f"was not ready {self.ready_timeout:g} s after restart {restart}"
            return f"{process.exit_description()} while restarting"
        self._record(
            logging.INFO,
            name,
            f"is back after restart {restart} (pid {process.pid}, ready in {time.monotonic() - began:.1f} s)",
        )
        return None

    def _give_up(self, name: str, process: ManagedProcess, error: StackError) -> None:
        process.stop()
        reason = str(error).splitlines()[0].removeprefix(f"{name} ")
        self._record(logging.ERROR, name, f"{reason}; not restarted again")
        with self._lock:
            if self._failure is None:
                self._failure = error
        if self.on_failure is not None:
            self.on_failure.set()

    def _record(self, level: int, name: str, description: str) -> None:
        with self._lock:
            self._events.append(SupervisionEvent(time.time(), name, description))
        log.log(level, "%s %s", name, description)

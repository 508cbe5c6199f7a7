"""One child process of the stack: started in a process group of its own, its output appended to a
log file, probed until ready, stopped gently then firmly."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from pathlib import Path

from infra.stack.config import CannotStart, StackError, StartCancelled, port_is_free

log = logging.getLogger("infra.stack")


def rotated_log(path: Path) -> Path:
    """Where `ManagedProcess.rotate_log` keeps the content a log had before it was last emptied."""
    return path.with_name(path.name + ".1")


def log_lines(path: Path) -> list[str]:
    """Every line a process's log still holds, its rotated part first; [] for a log never written."""
    lines: list[str] = []
    for part in (rotated_log(path), path):
        with contextlib.suppress(FileNotFoundError):
            lines += part.read_text(errors="replace").splitlines()
    return lines


class ManagedProcess:
    """One child process, leader of its own process group, its output appended to a log file.

    `start` launches it, `wait_ready` polls its readiness probe (none: ready once running), `stop` ends
    the whole group (SIGTERM, then SIGKILL) and waits until no member is left. It may be started again
    after it has exited: the seam for supervision. `ports` are those it listens on: `start` refuses
    to launch it while another process holds one.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
        ready: Callable[[], bool] | None = None,
        stop_timeout: float = 10.0,
        ports: Collection[int] = (),
    ) -> None:
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.env = dict(env)
        self.log_path = log_path
        self.stop_timeout = stop_timeout
        self.ports = tuple(ports)
        self._ready = ready
        self._popen: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int | None:
        """Pid of the last started process, which is also its process group id."""
        return None if self._popen is None else self._popen.pid

    @property
    def returncode(self) -> int | None:
        """None while running or never started; negative for death by a signal."""
        return None if self._popen is None else self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Launch the process; CannotStart when its binary is missing or one of its ports is taken."""
        if self.is_alive():
            raise RuntimeError(f"{self.name} is already running")
        for port in self.ports:
            if not port_is_free(port):
                raise CannotStart(f"{self.name} could not start: port {port} is taken")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self._log_offset = log_file.tell()
            stamp = datetime.now().isoformat(timespec="seconds")
            log_file.write(f"=== {stamp} starting {self.name}: {shlex.join(self.argv)}\n".encode())
            log_file.flush()
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                raise CannotStart(f"{self.name} could not start: {self._launch_refusal(error)}") from error

    def wait_ready(self, timeout: float, *, cancel: threading.Event | None = None) -> None:
        """Return once the readiness probe passes; StackError if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            _raise_if_cancelled(cancel)
            if not self.is_alive():
                raise self.failure(f"could not start: {self.exit_reason()}")
            if self._ready is None or self._ready():
                return
            if time.monotonic() >= deadline:
                raise self.failure(f"could not start: not ready after {timeout:g} s")
            _pause(0.2, cancel)

    def wait_exit(self, timeout: float, *, cancel: threading.Event | None = None) -> int:
        """The exit code of a one-shot process; StackError (after stopping it) if it runs too long."""
        deadline = time.monotonic() + timeout
        while (code := self.returncode) is None:
            _raise_if_cancelled(cancel)
            if time.monotonic() >= deadline:
                self.stop()
                raise self.failure(f"did not finish within {timeout:g} s")
            _pause(0.1, cancel)
        return code

    def stop(self) -> None:
        """End every process of the group, gently first; a no-op for a group that is already gone."""
        if self._popen is None or self._group_gone():
            return
        group = self._popen.pid
        log.info("stopping %s", self.name)
        _signal_group(group, signal.SIGTERM)
        if self._wait_group_gone(self.stop_timeout):
            return
        log.warning("%s still running %.0f s after SIGTERM; sending SIGKILL", self.name, self.stop_timeout)
        _signal_group(group, signal.SIGKILL)
        if not self._wait_group_gone(5.0):
            log.error("process group %d of %s survived SIGKILL", group, self.name)

    def exit_description(self) -> str:
        """How the process ended, for a person: 'exited with code 1', 'was killed by SIGKILL'."""
        code = self.returncode
        if code is None:
            return "is running"
        if code >= 0:
            return f"exited with code {code}"
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"

    def exit_reason(self) -> str:
        """How the process ended and the error it last wrote, on one line: 'exited with code 3:
        django.core.exceptions.ImproperlyConfigured: ...'; the bare exit description if it wrote none."""
        error = _first_error(self.log_tail(200).splitlines())
        return self.exit_description() if error is None else f"{self.exit_description()}: {error}"

    def rotate_log(self, max_bytes: int) -> bool:
        """Keep the log within `max_bytes`: once it has reached that size, its content moves to
        `<log>.1` (replacing the one before) and the log is emptied in place, so the child, which
        appends to it (O_APPEND), goes on writing at its new start. True when it was rotated.

        Lines the child writes between the copy and the emptying are lost, as with logrotate's
        copytruncate: the price of a child that never reopens its output."""
        try:
            if self.log_path.stat().st_size < max_bytes:
                return False
            shutil.copyfile(self.log_path, rotated_log(self.log_path))
            os.truncate(self.log_path, 0)
        except OSError as error:
            log.warning("could not rotate %s: %s", self.log_path, error)
            return False
        self._log_offset = 0
        return True

    def log_tail(self, lines: int = 20) -> str:
        """The last `lines` lines this process (since its last start) wrote to its log."""
        try:
            with self.log_path.open("rb") as log_file:
                if log_file.seek(0, os.SEEK_END) < self._log_offset:  # rotated since
                    self._log_offset = 0
                log_file.seek(self._log_offset)
                text = log_file.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip("\n").splitlines()[-lines:])

    def failure(self, what: str) -> StackError:
        """A StackError whose first line says `what` happened to this process, the tail of its log
        below it."""
        tail = self.log_tail() or "(nothing)"
        return StackError(f"{self.name} {what}\nlast lines of {self.log_path}:\n{tail}")

    def _launch_refusal(self, error: OSError) -> str:
        if isinstance(error, FileNotFoundError) and error.filename == self.argv[0]:
            return f"binary not found: {self.argv[0]}"
        return f"{error.strerror}: {error.filename or self.argv[0]}"

    def _group_gone(self) -> bool:
        # The leader must be reaped, not merely a zombie: a multithreaded leader shows as a zombie while
        # its other threads are still exiting (and may still hold its ports).
        assert self._popen is not None
        return self._popen.poll() is not None and not group_alive(self._popen.pid)

    def _wait_group_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._group_gone():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


def group_alive(pgid: int) -> bool:
    """True while any process of group `pgid` runs; zombies waiting for their reaper do not count."""
    proc = Path("/proc")
    if not proc.is_dir():  # no procfs (macOS): ask the kernel, which also counts zombies
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for stat_file in proc.glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:  # the process ended while we looked
            continue
        # Fields after "(comm)": state, ppid, pgrp, ...; comm itself may hold spaces and parentheses.
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            return True
    return False


def _first_error(lines: list[str]) -> str | None:
    """The exception line of the first Python traceback in `lines` (what went wrong first: a gunicorn
    master whose worker failed to boot may add a traceback of its own after the worker's), else the
    last line written (the stack's own "=== starting" lines aside); None when there is none."""
    written = [line for line in lines if line.strip() and not line.startswith("=== ")]
    tracebacks = [
        at for at, line in enumerate(written) if line.startswith("Traceback (most recent call last)")
    ]
    if tracebacks:
        for line in written[tracebacks[0] + 1 :]:
            if not line[0].isspace():  # the frames are indented; the exception that ended them is not
                return line
    return written[-1] if written else None


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _raise_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise StartCancelled("stop requested while starting")


def _pause(seconds: float, cancel: threading.Event | None) -> None:
    if cancel is None:
        time.sleep(seconds)
    else:
        cancel.wait(seconds)

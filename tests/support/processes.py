"""Find processes by an environment marker, so a test can prove that everything a command started
(children, grandchildren, process groups and sessions of their own) is gone, and run a command
that starts a stack of its own without leaving that stack behind. Linux only (/proc).
"""

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

MARKER_VARIABLE = "SAGA_TEST_MARKER"


def new_marker() -> str:
    return uuid.uuid4().hex


def marked_processes(marker: str) -> list[int]:
    """Pids of running processes whose environment holds SAGA_TEST_MARKER=`marker`."""
    needle = f"\0{MARKER_VARIABLE}={marker}\0".encode()
    found = []
    for environ_file in Path("/proc").glob("[0-9]*/environ"):
        try:
            environ = environ_file.read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in b"\0" + environ + b"\0":
            found.append(int(environ_file.parent.name))
    return found


def wait_until_none_marked(marker: str, timeout: float = 5.0) -> list[int]:
    """Wait for every marked process to end; the pids still running when time is up."""
    deadline = time.monotonic() + timeout
    while (left := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def run_bounded(
    argv: list[str], *, env: Mapping[str, str], timeout: float, grace: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run a command that starts processes of its own (`sagactl bench`, `sagactl chaos`), its output
    captured. Past `timeout` it is interrupted as Ctrl-C would (it stops what it started), given
    `grace` seconds, then ended with everything it left; AssertionError with its output's tail."""
    marker = new_marker()
    process = subprocess.Popen(
        argv, env={**env, MARKER_VARIABLE: marker}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
        # What is still running (a child that ignored the interrupt, or holds the output open) goes.
        for pid in [process.pid, *marked_processes(marker)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        out, err = process.communicate()
        raise AssertionError(
            f"{' '.join(argv[1:3])} did not end within {timeout:g} s:\n{out[-3000:]}{err[-3000:]}"
        ) from None
    return subprocess.CompletedProcess(argv, process.returncode, out, err)

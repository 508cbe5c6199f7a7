"""Find processes by an environment marker, so a test can prove that everything a command started
(children, grandchildren, process groups and sessions of their own) is gone. Linux only (/proc).
"""

import time
import uuid
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

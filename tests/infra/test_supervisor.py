"""The Supervisor with small stand-in processes and a fast restart policy: a dead process comes back
and is counted, backoff doubles on deaths in a row up to its cap and starts over after a good run, a
restart that is never ready is one more failure, and stopping supervision restarts nothing.
"""

import logging
import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from infra.stack import ManagedProcess, RestartPolicy, Supervisor, log_lines
from infra.stack.process import rotated_log
from tests.infra.fakes import stand_in
from tests.support.processes import marked_processes
from tests.support.waiting import wait_for

pytestmark = pytest.mark.any_database

FAST = RestartPolicy(initial_backoff=0.1, max_backoff=0.4, reset_after=30.0, poll_interval=0.05)
SERVE = "import time; print('serving'.upper(), flush=True); time.sleep(60)"  # logs SERVING, once running
# Like a gunicorn master: a child of its own that outlives the leader when only the leader is killed.
SERVE_WITH_CHILD = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n" + SERVE
)


def serving(directory: Path, code: str = SERVE, *, ready_file: Path | None = None) -> ManagedProcess:
    """A stand-in that is ready once it logged SERVING (and, if given, while `ready_file` exists)."""

    def ready() -> bool:
        return "SERVING" in process.log_tail() and (ready_file is None or ready_file.exists())

    process = stand_in(directory, code, name="sleeper", ready=ready)
    return process


@contextmanager
def supervising(
    process: ManagedProcess,
    policy: RestartPolicy = FAST,
    ready_timeout: float = 10.0,
    log_max_bytes: int | None = None,
) -> Iterator[Supervisor]:
    """`process` started, ready and supervised; afterwards supervision and the process stopped."""
    process.start()
    process.wait_ready(10)
    supervisor = Supervisor(
        {process.name: process}, policy=policy, ready_timeout=ready_timeout, log_max_bytes=log_max_bytes
    )
    supervisor.start()
    try:
        yield supervisor
    finally:
        supervisor.stop()
        process.stop()


def descriptions(supervisor: Supervisor) -> list[str]:
    return [event.description for event in supervisor.events]


def recoveries(supervisor: Supervisor) -> int:
    return sum(description.startswith("is back") for description in descriptions(supervisor))


def test_restart_policy_doubles_the_backoff_up_to_its_cap():
    policy = RestartPolicy(initial_backoff=0.5, max_backoff=10.0)

    assert [policy.backoff(failures) for failures in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]


def test_a_killed_process_is_restarted_and_its_death_and_return_are_recorded(tmp_path, marker, caplog):
    process = serving(tmp_path)
    caplog.set_level(logging.INFO, logger="infra.stack")
    with supervising(process) as supervisor:
        first = process.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: recoveries(supervisor) == 1, 10, "the restart")

        assert process.is_alive()
        assert process.pid != first
        assert supervisor.restarts == {"sleeper": 1}
        died, back = supervisor.events
        assert died.name == back.name == "sleeper"
        assert died.description == "was killed by SIGKILL; restarting in 0.1 s (restart 1)"
        assert re.fullmatch(
            rf"is back after restart 1 \(pid {process.pid}, ready in \d+\.\d s\)", back.description
        )
        assert died.time <= back.time

    assert "sleeper was killed by SIGKILL; restarting in 0.1 s (restart 1)" in caplog.messages
    assert f"sleeper {back.description}" in caplog.messages


LINES = 20_000
CHATTY = (  # about 1 MB of numbered lines over some ten seconds, then quiet
    "import time\n"
    f"for line in range({LINES}):\n"
    "    print(f'line {line:05d} ' + 'x' * 40, flush=True)\n"
    "    time.sleep(0.0005)\n"
    "time.sleep(60)\n"
)


def test_a_supervised_log_is_rotated_at_its_cap_and_the_process_writes_on_at_its_start(tmp_path, marker):
    cap = 64 * 1024
    process = stand_in(tmp_path, CHATTY, name="chatty")  # ready once running
    policy = RestartPolicy(initial_backoff=0.1, poll_interval=0.05, log_check_every=0.1)
    log = tmp_path / "logs" / "chatty.log"
    with supervising(process, policy, log_max_bytes=cap):
        # The last line may already have moved to the rotated part: look in both.
        wait_for(
            lambda: any(line.startswith(f"line {LINES - 1:05d}") for line in log_lines(log)),
            60,
            "the last line",
        )

    assert cap <= rotated_log(log).stat().st_size < 2 * cap
    assert log.stat().st_size < 2 * cap  # about 1 MB was written
    assert b"\0" not in log.read_bytes()  # appended at the emptied file's start, not past a hole
    numbers = [int(line.split()[1]) for line in log_lines(log) if line.startswith("line ")]
    assert numbers == sorted(numbers)
    assert numbers[-1] == LINES - 1
    assert numbers[0] > LINES // 2  # only the newest lines are kept
    assert not process.log_tail().count("\0")


def test_backoff_doubles_with_each_death_in_a_row_and_stays_at_its_cap(tmp_path, marker):
    process = stand_in(tmp_path, "import time; time.sleep(0.3); raise SystemExit(3)", name="crasher")
    with supervising(process) as supervisor:
        wait_for(lambda: supervisor.restarts["crasher"] >= 5, 20, "five restarts")

    deaths = [description for description in descriptions(supervisor) if description.startswith("exited")]
    assert deaths[:5] == [
        "exited with code 3; restarting in 0.1 s (restart 1)",
        "exited with code 3; restarting in 0.2 s (restart 2)",
        "exited with code 3; restarting in 0.4 s (restart 3)",
        "exited with code 3; restarting in 0.4 s (restart 4)",
        "exited with code 3; restarting in 0.4 s (restart 5)",
    ]


def test_a_process_that_stayed_up_long_enough_starts_over_at_the_first_backoff(tmp_path, marker):
    process = serving(tmp_path)
    policy = RestartPolicy(initial_backoff=0.1, max_backoff=0.4, reset_after=1.0, poll_interval=0.05)
    with supervising(process, policy) as supervisor:
        for restart in (1, 2):  # killed again as soon as it is back: the backoff doubles
            os.kill(process.pid, signal.SIGKILL)
            wait_for(lambda expected=restart: recoveries(supervisor) == expected, 10, f"restart {restart}")
        time.sleep(1.2)
        os.kill(process.pid, signal.SIGKILL)
        wait_for(lambda: recoveries(supervisor) == 3, 10, "restart 3")

    deaths = [description for description in descriptions(supervisor) if description.startswith("was killed")]
    assert deaths == [
        "was killed by SIGKILL; restarting in 0.1 s (restart 1)",
        "was killed by SIGKILL; restarting in 0.2 s (restart 2)",
        "was killed by SIGKILL; restarting in 0.1 s (restart 3)",
    ]


def test_a_restart_that_never_becomes_ready_is_stopped_and_counts_as_another_failure(tmp_path, marker):
    ready_file = tmp_path / "ready"
    ready_file.touch()
    process = serving(tmp_path, ready_file=ready_file)
    # Long enough for a restart to start Python and serve on a busy host: the second must make it.
    with supervising(process, ready_timeout=3) as supervisor:
        ready_file.unlink()
        os.kill(process.pid, signal.SIGKILL)
        wait_for(lambda: len(supervisor.events) == 2, 20, "the failed restart")
        ready_file.touch()
        wait_for(lambda: recoveries(supervisor) == 1, 20, "the second restart")

        assert descriptions(supervisor)[:2] == [
            "was killed by SIGKILL; restarting in 0.1 s (restart 1)",
            "was not ready 3 s after restart 1; restarting in 0.2 s (restart 2)",
        ]
        assert descriptions(supervisor)[2].startswith("is back after restart 2 ")
        assert supervisor.restarts == {"sleeper": 2}
        assert marked_processes(marker) == [process.pid]  # the unready one was stopped


def test_stopping_during_a_pending_restart_restarts_nothing_and_the_leftovers_are_gone(tmp_path, marker):
    process = serving(tmp_path, SERVE_WITH_CHILD)
    slow = RestartPolicy(initial_backoff=30.0, max_backoff=30.0, poll_interval=0.05)
    with supervising(process, slow) as supervisor:
        first = process.pid
        assert len(marked_processes(marker)) == 2
        os.kill(first, signal.SIGKILL)  # the leader only: its child lives on in the group
        wait_for(lambda: supervisor.events, 10, "the death to be seen")
        wait_for(lambda: marked_processes(marker) == [], 10, "the group's leftovers to be ended")

        began = time.monotonic()
        supervisor.stop()

        assert time.monotonic() - began < 10  # not the 30 s it waits for, however busy the host
        assert descriptions(supervisor) == ["was killed by SIGKILL; restarting in 30.0 s (restart 1)"]
        assert supervisor.restarts == {"sleeper": 0}
        assert process.pid == first
        assert not process.is_alive()


def test_stopping_while_a_restart_waits_for_readiness_abandons_it_at_once(tmp_path, marker):
    ready_file = tmp_path / "ready"
    ready_file.touch()
    process = serving(tmp_path, ready_file=ready_file)
    with supervising(process, ready_timeout=30.0) as supervisor:
        ready_file.unlink()
        os.kill(process.pid, signal.SIGKILL)
        wait_for(lambda: supervisor.restarts["sleeper"] == 1, 10, "the restart to begin")
        wait_for(lambda: "SERVING" in process.log_tail(), 10, "the restarted process to run")

        began = time.monotonic()
        supervisor.stop()

        assert time.monotonic() - began < 10  # not the 30 s it waits for, however busy the host
        assert process.is_alive()  # left to whoever owns it, as Stack.stop does next
        assert recoveries(supervisor) == 0
    assert not process.is_alive()

"""ManagedProcess with small Python children: startup failures carry the log tail, and stop leaves no
member of the process group behind, grandchildren and SIGTERM-deaf processes included.
"""

import os
import signal
import sys
import time

import pytest

from infra.stack import StackError, group_alive
from infra.stack.system import stop_side_by_side
from tests.infra.fakes import stand_in
from tests.support.processes import marked_processes, run_bounded, wait_until_none_marked
from tests.support.waiting import wait_for

pytestmark = pytest.mark.any_database


def test_a_process_that_dies_while_starting_is_reported_with_its_exit_code_and_log_tail(tmp_path, marker):
    process = stand_in(
        tmp_path, "print('settings module not found'); raise SystemExit(3)", ready=lambda: False
    )
    process.start()

    with pytest.raises(StackError) as error:
        process.wait_ready(10)

    first_line, *below = str(error.value).splitlines()
    assert first_line == "probe could not start: exited with code 3: settings module not found"
    assert below[0] == f"last lines of {tmp_path / 'logs' / 'probe.log'}:"
    assert below[-1] == "settings module not found"


def test_a_process_never_ready_times_out_and_stop_ends_it(tmp_path, marker):
    process = stand_in(
        tmp_path, "import time; print('booting', flush=True); time.sleep(60)", ready=lambda: False
    )
    process.start()
    # The error quotes the log: wait for the line first, since a busy host may start Python slowly.
    wait_for(lambda: "booting" in process.log_path.read_text(), 30, "the process to log its first line")

    with pytest.raises(StackError, match=r"probe could not start: not ready after 0.5 s\n(.|\n)*booting"):
        process.wait_ready(0.5)
    process.stop()

    assert not group_alive(process.pid)
    assert process.exit_description() == "was killed by SIGTERM"


def test_stop_kills_a_group_that_ignores_sigterm_including_grandchildren(tmp_path, marker):
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
        "print('up' * 2, flush=True)\n"
        "time.sleep(60)\n"
    )
    process = stand_in(tmp_path, code, ready=lambda: "upup" in process.log_tail(), stop_timeout=0.5)
    process.start()
    process.wait_ready(10)
    assert len(marked_processes(marker)) == 2

    began = time.monotonic()
    process.stop()

    assert time.monotonic() - began < 3
    assert not group_alive(process.pid)
    assert marked_processes(marker) == []
    assert process.exit_description() == "was killed by SIGKILL"


def test_stop_sweeps_the_group_after_its_leader_died(tmp_path, marker):
    code = "import subprocess; subprocess.Popen(['sleep', '60'])"
    process = stand_in(tmp_path, code)
    process.start()
    while process.is_alive():
        time.sleep(0.05)
    assert len(marked_processes(marker)) == 1  # the orphaned `sleep`, still in the group

    process.stop()

    assert marked_processes(marker) == []


def test_a_process_can_be_started_again_and_its_log_tail_covers_the_latest_run(tmp_path, marker):
    process = stand_in(
        tmp_path,
        "import sys; print(sys.argv); raise SystemExit(0)",
        ready=lambda: "second run" in process.log_tail(),
    )
    process.start()
    assert process.wait_exit(10) == 0
    process.argv = [sys.executable, "-c", "import time; print('second', 'run', flush=True); time.sleep(60)"]
    process.start()
    process.wait_ready(10)
    os.kill(process.pid, signal.SIGKILL)
    while process.is_alive():
        time.sleep(0.05)

    assert process.exit_description() == "was killed by SIGKILL"
    assert "second run" in process.log_tail()
    assert "['-c']" not in process.log_tail()
    assert "['-c']" in (tmp_path / "logs" / "probe.log").read_text()  # the log keeps every run


def test_wait_exit_stops_a_one_shot_process_that_runs_too_long(tmp_path, marker):
    process = stand_in(tmp_path, "import time; time.sleep(60)")
    process.start()

    with pytest.raises(StackError, match=r"probe did not finish within 0\.3 s"):
        process.wait_exit(0.3)

    assert not group_alive(process.pid)


def test_a_bounded_run_past_its_time_is_interrupted_and_leaves_nothing_behind(marker):
    """A command that outlives its time, with a child in a session of its own, is interrupted, and
    the child it left is ended: a later test never meets its processes (or their connections)."""
    script = (
        "import subprocess, sys, time; "
        "subprocess.Popen(['sleep', '300'], start_new_session=True); "
        "print('started', flush=True); time.sleep(300)"
    )
    began = time.monotonic()
    with pytest.raises(AssertionError, match=r"did not end within 2 s:\nstarted"):
        run_bounded([sys.executable, "-c", script], env=os.environ, timeout=2, grace=5)
    assert time.monotonic() - began < 10
    assert wait_until_none_marked(marker) == []


def test_processes_stopped_side_by_side_all_have_their_sigterm_before_any_of_them_is_gone(tmp_path, marker):
    """Each child, on SIGTERM, notes it and waits (5 s at most) for its siblings' notes before it
    exits: a stop one after another would leave the first waiting in vain."""
    names = ("first", "second", "third")
    code = (
        "import pathlib, signal, sys, time\n"
        "here, name = pathlib.Path(sys.argv[1]), sys.argv[2]\n"
        "def leave(*_):\n"
        "    (here / f'{name}.term').touch()\n"
        "    deadline = time.monotonic() + 5\n"
        f"    while len(list(here.glob('*.term'))) < {len(names)} and time.monotonic() < deadline:\n"
        "        time.sleep(0.02)\n"
        "    (here / f'{name}.saw').write_text(str(len(list(here.glob('*.term')))))\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, leave)\n"
        "print('up' * 2, flush=True)\n"
        "time.sleep(60)\n"
    )
    processes = [stand_in(tmp_path, code, name=name, stop_timeout=10) for name in names]
    for process, name in zip(processes, names, strict=True):
        process.argv += [str(tmp_path), name]
        process.start()
    for process in processes:
        wait_for(lambda process=process: "upup" in process.log_tail(), 10, "its handler to be set")

    stop_side_by_side(processes)

    assert {name: (tmp_path / f"{name}.saw").read_text() for name in names} == dict.fromkeys(names, "3")
    assert not any(group_alive(process.pid) for process in processes)
    assert [process.returncode for process in processes] == [0, 0, 0]

"""Processes that die before they are ready. While the stack starts, one is started again with the
restart policy's backoff while the others keep running; one that never comes up ends the start within
the policy's attempts, and a missing binary or a taken port ends it at once, with one line naming the
process and why. Supervision gives up the same way on a process it cannot start again. No leftovers.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import IO

import httpx
import pytest

from infra.stack import (
    ManagedProcess,
    RestartPolicy,
    Stack,
    StackConfig,
    StackError,
    Supervisor,
    free_ports,
)
from infra.stack.config import CannotStart
from tests.infra.fakes import stand_in, write_fake_root
from tests.support.ports import listening_on, ports_free
from tests.support.processes import marked_processes
from tests.support.waiting import wait_for

pytestmark = pytest.mark.any_database  # fake Django projects, and SAGA_POSTGRES_URL left out of `sagactl up`

FAST = RestartPolicy(initial_backoff=0.2, max_backoff=1.0, poll_interval=0.05)
BROKEN = "django.core.exceptions.ImproperlyConfigured: SAGA_CORS_ORIGINS takes exact origins only: 'http://*.example'"
# A gunicorn master whose worker fails to boot exits with code 3, or 1 when it halts while spawning it.
DIED_BROKEN = rf"exited with code [13]: {re.escape(BROKEN)}"
# `sagactl up` with the repository root pointed at the fake one and the binaries looked for in a folder
# of the test's choosing; everything else as installed.
UP_OVER_FAKE_ROOT = (
    "import sys; from pathlib import Path; import infra.stack.config, infra.stack.processes; "
    "infra.stack.config.REPO_ROOT = Path(sys.argv[1]); infra.stack.processes.BIN_DIR = Path(sys.argv[2]); "
    "from infra.sagactl import main; sys.exit(main(sys.argv[3:]))"
)


def starts(config: StackConfig, name: str) -> list[datetime]:
    """When `name` was launched, from the header the stack writes to its log before each start."""
    log = (config.log_dir / f"{name}.log").read_text()
    return [
        datetime.fromisoformat(stamp) for stamp in re.findall(rf"^=== (\S+) starting {name}: ", log, re.M)
    ]


def retried(delay: str, attempt: int) -> str:
    """The pattern of a start-up death's record: how it died, the backoff, the next attempt."""
    return rf"{DIED_BROKEN}; starting again in {re.escape(delay)} s \(attempt {attempt} of 4\)"


def up_over_fake_root(
    tmp_path: Path,
    root: Path,
    port_env: dict[str, str],
    bin_dir: Path,
    *,
    stdout: IO[str] | int = subprocess.PIPE,
) -> subprocess.Popen[str]:
    env = (
        {
            name: value
            for name, value in os.environ.items()
            if name not in ("SAGA_POSTGRES_URL", "SAGA_RABBITMQ_URL")
        }
        | port_env
        | {"SAGA_VAR_DIR": str(tmp_path / "var")}
    )
    return subprocess.Popen(
        [sys.executable, "-c", UP_OVER_FAKE_ROOT, str(root), str(bin_dir), "up"],
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(up: subprocess.Popen[str], timeout: float) -> tuple[int, str]:
    """`up`'s exit code and stderr; killed with everything it started if it runs past `timeout`."""
    try:
        _, err = up.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(up.pid, signal.SIGKILL)
        _, err = up.communicate()
        raise AssertionError(f"sagactl up did not end within {timeout:g} s:\n{err[-3000:]}") from None
    return up.returncode, err


def test_a_service_dying_before_ready_is_started_again_with_backoff_while_the_others_stay_up(
    tmp_path, port_env, marker
):
    root = write_fake_root(tmp_path / "root", failing_boots={"payment_svc": 2})
    config = StackConfig.from_env(port_env, var_dir=tmp_path / "var", root=root, startup_timeout=30.0)

    with Stack(config, FAST) as stack:
        retries = [event for event in stack.events if event.name == "payment_svc"]
        assert len(retries) == 2
        assert re.fullmatch(retried("0.2", 2), retries[0].description)
        assert re.fullmatch(retried("0.4", 3), retries[1].description)
        assert retries[1].time - retries[0].time >= 0.2
        assert stack.events == retries, "no other process died"
        assert len(starts(config, "payment_svc")) == 3
        for name, process in stack.processes.items():
            assert process.is_alive(), name
            if name != "payment_svc":
                assert len(starts(config, name)) == 1, f"{name} was started again"
        assert len((config.var_dir / "payment_svc.boots").read_text().split()) == 3
    assert marked_processes(marker) == []
    assert ports_free(config)


def test_up_gives_up_on_a_service_whose_settings_are_broken_within_its_attempts(tmp_path, port_env, marker):
    root = write_fake_root(tmp_path / "root", failing_boots={"order_svc": 1000})
    config = StackConfig.from_env(port_env, var_dir=tmp_path / "var", root=root)

    code, err = finish(up_over_fake_root(tmp_path, root, port_env, Path(sys.executable).parent), 120)
    ended = datetime.now()

    assert code == 1, err
    lines = err.splitlines()
    failed = [
        at
        for at, line in enumerate(lines)
        if re.fullmatch(f"sagactl: order_svc could not start: {DIED_BROKEN}", line)
    ]
    assert len(failed) == 1, err
    assert lines[failed[0] + 1] == f"last lines of {config.log_dir / 'order_svc.log'}:"
    assert "Worker failed to boot." in lines[-1]
    retries = [line.removeprefix("sagactl: order_svc ") for line in lines if "starting again" in line]
    assert len(retries) == 3, err
    for retry, delay, attempt in zip(retries, ("0.5", "1.0", "2.0"), (2, 3, 4), strict=True):
        assert re.fullmatch(retried(delay, attempt), retry)
    launched = starts(config, "order_svc")
    assert len(launched) == 4
    assert (ended - launched[0]).total_seconds() < 30, "the bound: 4 attempts, 3.5 s of backoff between them"
    assert marked_processes(marker) == []
    assert ports_free(config)


def test_up_stops_when_supervision_cannot_start_a_dead_service_again(tmp_path, port_env, marker):
    root = write_fake_root(tmp_path / "root", failing_boots={"order_svc": 0})
    config = StackConfig.from_env(port_env, var_dir=tmp_path / "var", root=root)
    out = tmp_path / "stdout"
    with out.open("w") as stdout:
        up = up_over_fake_root(tmp_path, root, port_env, Path(sys.executable).parent, stdout=stdout)
    try:
        wait_for(
            lambda: "Press Ctrl-C" in out.read_text() or up.poll() is not None, 60, "the stack to come up"
        )
        assert up.poll() is None, up.communicate()[1]
        master = httpx.get(f"{config.order_url}/env", timeout=5).json()["master_pid"]
        (config.var_dir / "order_svc.broken").touch()  # its settings went bad while it ran
        os.kill(master, signal.SIGKILL)
        code, err = finish(up, 60)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)

    assert code == 1, err
    lines = err.splitlines()
    assert "sagactl: order_svc was killed by SIGKILL; restarting in 0.5 s (restart 1)" in lines
    restarts = [line for line in lines if "while restarting; restarting in" in line]
    assert len(restarts) == 3, err
    for line, delay, restart in zip(restarts, ("1.0", "2.0", "4.0"), (2, 3, 4), strict=True):
        assert re.fullmatch(
            rf"sagactl: order_svc exited with code [13] while restarting; "
            rf"restarting in {delay} s \(restart {restart}\)",
            line,
        )
    given_up = [
        at
        for at, line in enumerate(lines)
        if re.fullmatch(f"sagactl: order_svc could not start: {DIED_BROKEN}", line)
    ]
    assert len(given_up) == 1, err
    assert lines[given_up[0] + 1] == f"last lines of {config.log_dir / 'order_svc.log'}:"
    assert len(starts(config, "order_svc")) == 5
    assert marked_processes(marker) == []
    assert ports_free(config)


def test_up_ends_at_once_when_a_binary_is_missing(tmp_path, port_env, marker):
    root = write_fake_root(tmp_path / "root")
    config = StackConfig.from_env(port_env, var_dir=tmp_path / "var", root=root)
    empty = tmp_path / "bin"
    empty.mkdir()

    began = time.monotonic()
    code, err = finish(up_over_fake_root(tmp_path, root, port_env, empty), 60)

    assert code == 1, err
    assert (
        err.splitlines()[-1] == f"sagactl: temporal could not start: binary not found: {empty / 'temporal'}"
    )
    assert time.monotonic() - began < 20
    assert marked_processes(marker) == []
    assert ports_free(config)


def test_a_port_taken_while_the_stack_starts_ends_the_start_at_once(tmp_path, fake_config, marker):
    taken = threading.Event()
    squatters: list[socket.socket] = []

    def take_order_svc_port() -> None:
        # Once the stack is past its own check of the ports and Temporal is starting, as another
        # program might.
        wait_for(lambda: (fake_config.log_dir / "temporal.log").exists(), 30, "Temporal to start")
        squatters.append(listening_on(fake_config.order_port))
        taken.set()

    thief = threading.Thread(target=take_order_svc_port)
    thief.start()
    try:
        with pytest.raises(CannotStart) as error:
            Stack(fake_config).start()
        thief.join(30)

        assert taken.is_set()
        assert str(error.value) == f"order_svc could not start: port {fake_config.order_port} is taken"
        assert starts(fake_config, "order_svc") == [], "it was never launched"
        assert marked_processes(marker) == []
        assert ports_free(fake_config, but=fake_config.order_port)
    finally:
        thief.join(30)
        for squatter in squatters:
            squatter.close()


def serving_once(directory: Path, **options: object) -> ManagedProcess:
    """A stand-in that serves on its first start and fails with a traceback on every later one."""
    code = (
        "import pathlib, time\n"
        "first = not pathlib.Path('ran').exists()\n"
        "pathlib.Path('ran').touch()\n"
        "if not first:\n"
        "    raise RuntimeError('its settings went bad')\n"
        "print('serving'.upper(), flush=True)\n"
        "time.sleep(60)\n"
    )
    process = stand_in(
        directory, code, name="sleeper", ready=lambda: "SERVING" in process.log_tail(), **options
    )
    return process


def supervised(process: ManagedProcess, policy: RestartPolicy = FAST) -> tuple[Supervisor, threading.Event]:
    process.start()
    process.wait_ready(10)
    failed = threading.Event()
    supervisor = Supervisor({process.name: process}, policy=policy, ready_timeout=5.0, on_failure=failed)
    supervisor.start()
    return supervisor, failed


def test_supervision_gives_up_on_a_process_whose_restarts_keep_dying_before_ready(tmp_path, marker):
    process = serving_once(tmp_path)
    supervisor, failed = supervised(process)
    try:
        os.kill(process.pid, signal.SIGKILL)
        assert failed.wait(15), "supervision did not give up"

        assert [event.description for event in supervisor.events] == [
            "was killed by SIGKILL; restarting in 0.2 s (restart 1)",
            "exited with code 1 while restarting; restarting in 0.4 s (restart 2)",
            "exited with code 1 while restarting; restarting in 0.8 s (restart 3)",
            "exited with code 1 while restarting; restarting in 1.0 s (restart 4)",
            "could not start: exited with code 1: RuntimeError: its settings went bad; not restarted again",
        ]
        assert supervisor.restarts == {"sleeper": 4}
        first_line, _where, *tail = str(supervisor.failure).splitlines()
        assert (
            first_line == "sleeper could not start: exited with code 1: RuntimeError: its settings went bad"
        )
        assert tail[-1] == "RuntimeError: its settings went bad"
        assert not process.is_alive()
    finally:
        supervisor.stop()
        process.stop()


def test_supervision_gives_up_at_once_on_a_port_another_process_took(tmp_path, marker):
    (port,) = free_ports(1)
    process = serving_once(tmp_path, ports=(port,))
    supervisor, failed = supervised(process)
    try:
        with listening_on(port):
            os.kill(process.pid, signal.SIGKILL)
            assert failed.wait(10), "supervision did not give up"

        assert [event.description for event in supervisor.events] == [
            "was killed by SIGKILL; restarting in 0.2 s (restart 1)",
            f"could not start: port {port} is taken; not restarted again",
        ]
        assert str(supervisor.failure) == f"sleeper could not start: port {port} is taken"
    finally:
        supervisor.stop()
        process.stop()


def test_supervision_gives_up_at_once_on_a_binary_that_is_gone(tmp_path, marker):
    python = tmp_path / "python"
    python.symlink_to(sys.executable)
    process = serving_once(tmp_path)
    process.argv[0] = str(python)
    supervisor, failed = supervised(process)
    try:
        python.unlink()
        os.kill(process.pid, signal.SIGKILL)
        assert failed.wait(10), "supervision did not give up"

        assert (
            supervisor.events[-1].description
            == f"could not start: binary not found: {python}; not restarted again"
        )
        assert isinstance(supervisor.failure, StackError)
        assert str(supervisor.failure) == f"sleeper could not start: binary not found: {python}"
    finally:
        supervisor.stop()
        process.stop()

"""`manage.py relay_outbox` as a process: JSON log lines only, keeps retrying while Temporal is away,
and exits 0 on SIGTERM or SIGINT (and after `--once`), having used temporalio, through os._exit.

Runs on a SQLite file of its own (whatever database the suite uses), with Temporal pointed at a port
where nothing listens.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parent.parent


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict:
    """A migrated SQLite file holding one order whose saga is not started yet."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        SAGA_VAR_DIR=str(tmp_path_factory.mktemp("var")),
        DJANGO_ENV="development",
        TEMPORAL_ADDRESS=f"127.0.0.1:{closed_port()}",
        TEMPORAL_RPC_TIMEOUT_SECONDS="2",
        OUTBOX_RETRY_FIRST_SECONDS="0.05",
        OUTBOX_RETRY_MAX_SECONDS="0.2",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage(env, "migrate", "--verbosity", "0")
    manage(
        env,
        "shell",
        "-c",
        "from orders import services; services.order_place(customer_id='alice', items=[('MUG', 1)])",
    )
    return env


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SERVICE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_once_tries_what_is_due_logs_json_and_exits_0(environment):
    done = manage(environment, "relay_outbox", "--once")
    messages = [line["message"] for line in json_lines(done.stderr)]
    assert messages == ["saga start failed; retrying later", "outbox drained"]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_relay_keeps_retrying_while_temporal_is_away_and_exits_0_when_told(environment, stop_signal):
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "relay_outbox"],
        cwd=SERVICE_DIR,
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in relay.stderr], daemon=True)
    reader.start()
    try:
        seen = []
        while seen.count("saga start failed; retrying later") < 2:
            seen.append(json.loads(lines.get(timeout=20))["message"])
        relay.send_signal(stop_signal)
        assert relay.wait(timeout=15) == 0
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait()
    reader.join(timeout=5)
    while not lines.empty():
        seen.append(json.loads(lines.get())["message"])
    assert seen[0] == "outbox relay running"
    assert seen[-2:] == ["outbox relay stopping", "outbox relay stopped"]

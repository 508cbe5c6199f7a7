"""The whole Stack over a fake repository root (real Temporal dev server and gunicorn, fake Django
projects and worker): what each child is given, the order of the steps, `sagactl up` reporting a dead
child and stopping on Ctrl-C, and a failed step stopping what had started. No leftovers, ever.
"""

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from infra.stack import SERVICES, Stack, StackConfig, StackError, port_is_free
from tests.infra.fakes import write_fake_root
from tests.support.processes import marked_processes

# `sagactl up` with the repository root pointed at the fake one; everything else as installed.
UP_OVER_FAKE_ROOT = (
    "import sys; from pathlib import Path; import infra.stack; infra.stack.REPO_ROOT = Path(sys.argv[1]); "
    "from infra.sagactl import main; sys.exit(main(sys.argv[2:]))"
)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def all_ports_free(config: StackConfig) -> bool:
    return all(port_is_free(port) for _, _, port in config.ports())


def test_sagactl_up_wires_every_child_reports_a_death_and_stops_cleanly_on_ctrl_c(tmp_path, port_env, marker):
    root = write_fake_root(tmp_path / "root")
    var_dir = tmp_path / "var"
    env = (
        os.environ
        | port_env
        | {
            "SAGA_VAR_DIR": str(var_dir),
            "PAYMENT_DATABASE_URL": "sqlite:////tmp/payments.sqlite3",
            "DATABASE_URL": "postgres://ambient/must-not-leak",
            "TEMPORAL_NAMESPACE": "ambient-must-not-leak",
        }
    )
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        up = subprocess.Popen(
            [sys.executable, "-c", UP_OVER_FAKE_ROOT, str(root), "up", "--chaos"],
            env=env, stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
    config = StackConfig.from_env(env, root=root)
    try:
        wait_for(
            lambda: "Press Ctrl-C" in out.read_text() or up.poll() is not None, 60, "the stack to come up"
        )
        assert up.poll() is None, err.read_text()
        banner = out.read_text()
        for url in (config.order_url, config.payment_url, config.inventory_url, config.ui_url):
            assert url in banner
        assert config.temporal_address in banner

        seen = {service: httpx.get(f"{config.service_url(service)}/env").json() for service in SERVICES}
        for service, report in seen.items():
            assert report["cwd"] == str(root / service)
            assert report["env"]["DJANGO_SETTINGS_MODULE"] == "config.settings"
            assert report["env"]["SAGA_VAR_DIR"] == str(var_dir)
            assert report["env"]["SAGA_CHAOS"] == "1"
            assert (var_dir / f"{service}.migrated").exists()
        assert seen["payment_svc"]["env"]["DATABASE_URL"] == "sqlite:////tmp/payments.sqlite3"
        assert seen["order_svc"]["env"]["DATABASE_URL"] is None
        assert seen["order_svc"]["env"]["TEMPORAL_ADDRESS"] == config.temporal_address
        assert seen["order_svc"]["env"]["TEMPORAL_NAMESPACE"] == "default"
        assert seen["order_svc"]["env"]["TEMPORAL_TASK_QUEUE"] == "orders"
        assert seen["inventory_svc"]["env"]["TEMPORAL_ADDRESS"] is None
        worker = json.loads((root / "worker-env.json").read_text())
        assert worker["TEMPORAL_ADDRESS"] == config.temporal_address
        assert worker["ORDER_SVC_URL"] == config.order_url
        assert worker["PAYMENT_SVC_URL"] == config.payment_url
        assert worker["INVENTORY_SVC_URL"] == config.inventory_url
        assert worker["SAGA_CHAOS"] is None
        for name in ("temporal", *SERVICES, "worker"):
            assert (var_dir / "logs" / f"{name}.log").stat().st_size > 0

        os.kill(seen["payment_svc"]["master_pid"], signal.SIGKILL)
        wait_for(
            lambda: "payment_svc was killed by SIGKILL" in err.read_text(), 10, "the death to be reported"
        )

        up.send_signal(signal.SIGINT)
        assert up.wait(30) == 0, err.read_text()
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    assert marked_processes(marker) == []
    assert all_ports_free(config)
    assert err.read_text().rstrip().endswith("sagactl: stopped")


def test_a_failed_migration_stops_what_had_started_and_shows_the_log_tail(tmp_path, port_env, marker):
    root = write_fake_root(tmp_path / "root", failing_migration="payment_svc")
    config = StackConfig.from_env(port_env, var_dir=tmp_path / "var", root=root, startup_timeout=30.0)

    with pytest.raises(StackError) as error:
        Stack(config).start()

    message = str(error.value)
    assert message.startswith(
        f"payment_svc migrate exited with code 1; last lines of {config.log_dir}/payment_svc.log"
    )
    assert message.endswith("django.db.utils.OperationalError: unable to open database file")
    assert marked_processes(marker) == []
    assert all_ports_free(config)
    assert "starting temporal" in (config.log_dir / "temporal.log").read_text()

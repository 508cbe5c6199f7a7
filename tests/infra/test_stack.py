"""The whole Stack over a fake repository root (real Temporal dev server and gunicorn, fake Django
projects and worker): what each child is given, the order of the steps, `sagactl up` restarting a
dead child and stopping on Ctrl-C, a supervised stack bringing a killed worker back and stopping
cleanly with a restart pending, and a failed step stopping what had started. No leftovers, ever.
"""

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from infra.stack import (
    ALL_SERVICES,
    PUBLISHING_SERVICES,
    ConfigError,
    Deployment,
    RestartPolicy,
    Stack,
    StackConfig,
    StackError,
    free_ports,
    port_is_free,
    publisher_name,
    rollout_worker,
    worker_version,
)
from infra.stack.config import PORT_RANGE_VARIABLE, ephemeral_floor, pickable_ports
from saga_contract import DEFAULT_AUDIT_EVERY_SECONDS
from tests.infra.fakes import write_fake_root
from tests.support.ports import ports_free
from tests.support.processes import marked_processes
from tests.support.waiting import wait_for

pytestmark = pytest.mark.any_database  # fake Django projects, and SAGA_POSTGRES_URL left out of `sagactl up`

# `sagactl up` with the repository root pointed at the fake one; everything else as installed.
UP_OVER_FAKE_ROOT = (
    "import sys; from pathlib import Path; import infra.stack.config; "
    "infra.stack.config.REPO_ROOT = Path(sys.argv[1]); "
    "from infra.sagactl import main; sys.exit(main(sys.argv[2:]))"
)


def test_sagactl_up_wires_every_child_restarts_a_dead_one_and_stops_cleanly_on_ctrl_c(
    tmp_path, port_env, marker
):
    root = write_fake_root(tmp_path / "root")
    var_dir = tmp_path / "var"
    env = (
        {
            name: value
            for name, value in os.environ.items()
            if name not in ("SAGA_POSTGRES_URL", "SAGA_RABBITMQ_URL")
        }  # SQLite and the embedded transport by default
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

        seen = {service: httpx.get(f"{config.service_url(service)}/env").json() for service in ALL_SERVICES}
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
        assert {report["env"]["EVENTS_BROKER_URL"] for report in seen.values()} == {"filesystem://"}
        for service in PUBLISHING_SERVICES:  # each has its event publisher, and notification_svc its notifier
            assert (var_dir / f"{service}.publish_events").exists()
        assert (var_dir / "notification_svc.notify").exists()
        assert (var_dir / "payment_svc.consume_events").exists()
        # Every service trusts the stack's identity_svc; the worker's two clients are registered there.
        assert {report["env"]["JWT_ISSUER"] for report in seen.values()} == {config.identity_url}
        assert {report["env"]["JWT_JWKS_URL"] for report in seen.values()} == {
            f"{config.identity_url}/.well-known/jwks.json"
        }
        assert (var_dir / "client.saga-orchestrator").read_text().startswith("--service --role saga")
        assert (var_dir / "client.saga-auditor").read_text().startswith("--service --role auditor")
        # The storefront: identity_svc serves its copy, whose origin alone may call the other services.
        assert (var_dir / "client.storefront").read_text() == (
            f"--browser --redirect-uri {config.identity_url}/ --development"
        )
        assert seen["identity_svc"]["env"]["IDENTITY_STOREFRONT_DIR"] == str(
            var_dir / "storefront" / "identity"
        )
        assert seen["identity_svc"]["env"]["SAGA_CORS_ORIGINS"] is None
        for service in ("order_svc", "payment_svc", "inventory_svc", "notification_svc"):
            assert seen[service]["env"]["SAGA_CORS_ORIGINS"] == config.identity_url, service
            assert seen[service]["env"]["IDENTITY_STOREFRONT_DIR"] is None, service
        worker = json.loads((root / "worker-env.json").read_text())
        # identity_svc's clients are registered while the services start, and before the worker starts.
        assert worker["clients at start"] == [
            "client.saga-auditor",
            "client.saga-orchestrator",
            "client.storefront",
        ]
        assert worker["TEMPORAL_ADDRESS"] == config.temporal_address
        assert worker["ORDER_SVC_URL"] == config.order_url
        assert worker["PAYMENT_SVC_URL"] == config.payment_url
        assert worker["INVENTORY_SVC_URL"] == config.inventory_url
        assert worker["SAGA_CHAOS"] is None
        assert worker["SAGA_TOKEN_URL"] == f"{config.identity_url}/oauth/token"
        for name in ("temporal", *ALL_SERVICES, "relay", "worker"):
            assert (var_dir / "logs" / f"{name}.log").stat().st_size > 0

        os.kill(seen["payment_svc"]["master_pid"], signal.SIGKILL)  # as `kill -9 <pid>` would
        wait_for(lambda: "payment_svc is back" in err.read_text(), 30, "payment_svc to come back")
        died = "sagactl: payment_svc was killed by SIGKILL; restarting in 0.5 s (restart 1)\n"
        assert died in err.read_text()
        again = httpx.get(f"{config.payment_url}/env").json()
        assert again["master_pid"] != seen["payment_svc"]["master_pid"]
        assert again["env"] == seen["payment_svc"]["env"]

        up.send_signal(signal.SIGINT)
        assert up.wait(30) == 0, err.read_text()
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    assert marked_processes(marker) == []
    assert ports_free(config)
    assert err.read_text().rstrip().endswith("sagactl: stopped")


def test_a_supervised_stack_brings_back_a_killed_worker_once_the_new_one_polls(fake_config, marker):
    with Stack(fake_config) as stack:
        state = Deployment(fake_config.temporal_address).state()
        assert state is not None
        assert state.current == "fake-1", "the stack's worker version is current"
        stack.supervise(RestartPolicy(initial_backoff=0.1, poll_interval=0.05))
        worker = stack.processes["worker"]
        first = worker.pid
        assert stack.kill("worker")
        wait_for(lambda: len(stack.events) == 2, 30, "the worker to come back")

        died, back = stack.events
        assert died.name == back.name == "worker"
        assert died.description == "was killed by SIGKILL; restarting in 0.1 s (restart 1)"
        assert back.description.startswith(f"is back after restart 1 (pid {worker.pid}, ")
        assert stack.restarts == dict.fromkeys(stack.processes, 0) | {"worker": 1}
        assert worker_version(fake_config, worker.pid) == "fake-1"
        # Temporal still lists the dead worker as running: readiness must ask for the new pid.
        assert worker_version(fake_config, first) == "fake-1"


def test_stop_with_a_restart_pending_restarts_nothing_and_frees_every_port(fake_config, marker):
    stack = Stack(fake_config)
    stack.start()
    try:
        stack.supervise(RestartPolicy(initial_backoff=30.0, max_backoff=30.0))
        master = stack.processes["payment_svc"].pid
        os.kill(master, signal.SIGKILL)  # the master only: its workers linger, holding the port
        wait_for(lambda: stack.events, 10, "the death to be seen")
        wait_for(lambda: port_is_free(fake_config.payment_port), 10, "the old group to be ended")
    finally:
        began = time.monotonic()
        stack.stop()

    assert time.monotonic() - began < 10
    assert [event.description for event in stack.events] == [
        "was killed by SIGKILL; restarting in 30.0 s (restart 1)"
    ]
    assert stack.restarts["payment_svc"] == 0
    assert stack.processes["payment_svc"].pid == master
    assert marked_processes(marker) == []
    assert ports_free(fake_config)
    assert not stack.kill("payment_svc")


def test_the_stack_stops_in_the_reverse_of_its_start_waves(fake_config):
    stack = Stack(fake_config)
    stack.processes["worker-v2"] = rollout_worker(fake_config, "v2")

    waves = [[process.name for process in wave] for wave in stack.stop_waves()]

    assert waves == [
        ["worker", "worker-v2"],
        [*ALL_SERVICES, "relay", *map(publisher_name, PUBLISHING_SERVICES), "notifier", "payment-consumer"],
        ["temporal"],
    ]


def test_only_a_started_stack_can_be_supervised(fake_config):
    with pytest.raises(StackError, match="start the stack before supervising it"):
        Stack(fake_config).supervise()


def test_a_failed_migration_stops_what_had_started_and_shows_the_log_tail(tmp_path, port_env, marker):
    root = write_fake_root(tmp_path / "root", failing_migration="payment_svc")
    config = StackConfig.from_env(port_env, var_dir=tmp_path / "var", root=root, startup_timeout=30.0)

    with pytest.raises(StackError) as error:
        Stack(config).start()

    message = str(error.value)
    assert message.startswith(
        "payment_svc migrate exited with code 1: django.db.utils.OperationalError: unable to open database "
        f"file\nlast lines of {config.log_dir}/payment_svc.log"
    )
    assert message.endswith("django.db.utils.OperationalError: unable to open database file")
    assert marked_processes(marker) == []
    assert ports_free(config)
    assert "starting temporal" in (config.log_dir / "temporal.log").read_text()


def test_by_default_the_stack_runs_the_services_of_this_repository_and_keeps_its_files_in_var():
    config = StackConfig()
    assert all(
        (config.root / service / "manage.py").is_file()
        for service in ("inventory_svc", "payment_svc", "order_svc")
    )
    assert config.var_dir == config.root / "var"
    assert (config.root / "Makefile").is_file()


def test_free_ports_are_free_distinct_and_below_the_range_the_kernel_hands_out_itself(monkeypatch):
    monkeypatch.delenv(PORT_RANGE_VARIABLE, raising=False)
    taken = free_ports(3)
    ports = free_ports(40, avoid=taken)
    assert len(set(ports)) == 40
    assert not set(ports) & set(taken)
    assert all(20000 <= port < ephemeral_floor() for port in ports)
    assert all(port_is_free(port) for port in ports)


def test_free_ports_come_from_the_range_the_environment_sets(monkeypatch):
    monkeypatch.setenv(PORT_RANGE_VARIABLE, "21000-21600")
    ports = free_ports(30)
    assert all(21000 <= port < 21600 for port in ports)
    assert len(set(ports)) == 30


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("21000", "must be LOW-HIGH"),
        ("21000-x", "must be LOW-HIGH"),
        ("80-2000", "must lie from 1024"),
        ("21000-99999", "must lie from 1024"),
        ("21000-21100", "fewer than 500 ports"),
        ("22000-21000", "fewer than 500 ports"),
    ],
)
def test_a_port_range_that_cannot_serve_is_refused_naming_its_variable(value, says):
    with pytest.raises(ConfigError, match=says) as refused:
        pickable_ports({PORT_RANGE_VARIABLE: value})
    assert PORT_RANGE_VARIABLE in str(refused.value)


def test_the_log_cap_comes_from_the_environment_and_must_be_a_size(tmp_path):
    assert StackConfig.from_env({}, var_dir=tmp_path).log_max_bytes == 64 * 2**20
    assert StackConfig.from_env({"SAGA_LOG_MAX_BYTES": "4096"}, var_dir=tmp_path).log_max_bytes == 4096
    for wrong in ("0", "-1", "1MiB"):
        with pytest.raises(ConfigError, match="SAGA_LOG_MAX_BYTES must be a positive whole number of bytes"):
            StackConfig.from_env({"SAGA_LOG_MAX_BYTES": wrong}, var_dir=tmp_path)


def test_the_audit_interval_and_the_mail_server_come_from_the_environment(tmp_path):
    defaults = StackConfig.from_env({}, var_dir=tmp_path)
    assert defaults.audit_every_seconds == DEFAULT_AUDIT_EVERY_SECONDS
    assert defaults.mail_server is None
    assert (
        StackConfig.from_env({"SAGA_AUDIT_EVERY_SECONDS": "120"}, var_dir=tmp_path).audit_every_seconds == 120
    )
    with pytest.raises(ConfigError, match="SAGA_AUDIT_EVERY_SECONDS must be a whole number of seconds"):
        StackConfig.from_env({"SAGA_AUDIT_EVERY_SECONDS": "every minute"}, var_dir=tmp_path)
    assert (
        StackConfig.from_env({"EMAIL_HOST": "mail.example"}, var_dir=tmp_path).mail_server == "mail.example"
    )
    assert (
        StackConfig.from_env(
            {"EMAIL_HOST": "mail.example", "EMAIL_PORT": "2525"}, var_dir=tmp_path
        ).mail_server
        == "mail.example:2525"
    )


def test_a_stack_drops_its_virtual_host_even_when_its_database_server_is_gone(tmp_path, monkeypatch):
    import infra.stack.config as stack_config
    import infra.stack.system as stack_system

    monkeypatch.setattr(stack_config, "can_manage_vhosts", lambda: True)
    config = StackConfig.on_free_ports(
        tmp_path,
        postgres_url="postgres://postgres@127.0.0.1:1",
        rabbitmq_url="amqp://guest:guest@127.0.0.1:1/",
    )
    dropped = []

    def server_gone(urls):
        raise OSError("connection refused")

    monkeypatch.setattr(stack_system, "drop_databases", server_gone)
    monkeypatch.setattr(stack_system, "drop_vhost", dropped.append)

    with pytest.raises(OSError, match="connection refused"):
        Stack(config)._drop_storage()
    assert dropped == [config.broker_vhost] != [None]

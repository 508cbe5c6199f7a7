"""The system's processes, as the local stack runs them: the Temporal dev server, each Django service
under gunicorn and its migrations, order_svc's outbox relay, and the orchestrator worker."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import httpx

from infra.stack.config import _STACK_VARIABLES, BIN_DIR, HOST, StackConfig, free_ports
from infra.stack.process import ManagedProcess
from saga_contract import NAMESPACE, SEARCH_ATTRIBUTE_TYPES, TASK_QUEUE

log = logging.getLogger("infra.stack")


def _child_env(**extra: str) -> dict[str, str]:
    """The caller's environment minus what the stack sets itself (and any TEMPORAL_*), plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _STACK_VARIABLES and not name.startswith("TEMPORAL_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _temporal_env(config: StackConfig) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": config.temporal_address,
        "TEMPORAL_NAMESPACE": NAMESPACE,
        "TEMPORAL_TASK_QUEUE": TASK_QUEUE,
    }


def _temporal_cli(config: StackConfig, *args: str) -> str | None:
    """Stdout of one `temporal` CLI command against the stack's server, or None if it failed."""
    argv = [str(BIN_DIR / "temporal"), *args, "--address", config.temporal_address, "--namespace", NAMESPACE]
    try:
        done = subprocess.run(argv, env=_child_env(), capture_output=True, timeout=5, check=False)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout.decode() if done.returncode == 0 else None


def answers_200(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


# The dev server's history service polls for transfer tasks at most 20 times a second by default
# (`history.transferProcessorMaxPollRPS`): after a short burst every workflow task then waits about
# 40 ms before it is dispatched, on every step of every saga. Raised, a bare workflow of five no-op
# activities takes 70-90 ms at one client instead of 300 (docs/benchmarks.md has the run).
DEV_SERVER_DYNAMIC_CONFIG = {
    "history.transferProcessorMaxPollRPS": 1000,
    "history.transferProcessorMaxPollHostRPS": 5000,
}


def dev_server_tuning() -> list[str]:
    """`temporal server start-dev` arguments that take the dev server's poll limits out of the way."""
    return [
        arg
        for name, value in DEV_SERVER_DYNAMIC_CONFIG.items()
        for arg in ("--dynamic-config-value", f"{name}={value}")
    ]


def temporal_server(config: StackConfig) -> ManagedProcess:
    """The Temporal dev server, persisting to <var>/temporal.sqlite; ready once it knows the namespace."""
    http_port, metrics_port = free_ports(2, avoid={port for _, _, port in config.ports()})
    argv = [
        str(BIN_DIR / "temporal"), "server", "start-dev",
        "--ip", HOST,
        "--port", str(config.temporal_port),
        "--ui-port", str(config.temporal_ui_port),
        "--http-port", str(http_port),
        "--metrics-port", str(metrics_port),
        "--db-filename", str(config.var_dir / "temporal.sqlite"),
        "--sqlite-pragma", "journal_mode=wal",
        "--sqlite-pragma", "synchronous=normal",
        "--log-level", "warn",
        *dev_server_tuning(),
        # The saga's search attributes, so the Web UI can filter by customer, status, total, step.
        *[arg for name, kind in SEARCH_ATTRIBUTE_TYPES.items() for arg in ("--search-attribute", f"{name}={kind}")],
    ]  # fmt: skip
    return ManagedProcess(
        "temporal",
        argv,
        cwd=config.root,
        env=_child_env(),
        log_path=config.log_dir / "temporal.log",
        ready=lambda: _temporal_cli(config, "operator", "namespace", "describe") is not None,
    )


def _service_env(config: StackConfig, service: str) -> dict[str, str]:
    extra = {"DJANGO_SETTINGS_MODULE": "config.settings", "SAGA_VAR_DIR": str(config.var_dir)}
    extra["DJANGO_ENV"] = config.django_env
    if service in config.database_urls:
        extra["DATABASE_URL"] = config.database_urls[service]
    if config.chaos:
        extra["SAGA_CHAOS"] = "1"
    if service == "order_svc":
        extra |= _temporal_env(config)
    return _child_env(**config.tuning, **extra)


def service_migration(config: StackConfig, service: str) -> ManagedProcess:
    """`manage.py migrate` of one service, a one-shot process logging to the service's log."""
    return ManagedProcess(
        f"{service} migrate",
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=config.root / service,
        env=_service_env(config, service),
        log_path=config.log_dir / f"{service}.log",
    )


def django_service(config: StackConfig, service: str) -> ManagedProcess:
    """One Django service under gunicorn; ready once GET /readyz answers 200."""
    url = config.service_url(service)
    argv = [
        str(BIN_DIR / "gunicorn"),
        "config.wsgi:application",
        "--config",
        "python:chassis.gunicorn_conf",
        "--bind",
        url.removeprefix("http://"),
        "--workers",
        "2",
        "--threads",
        "4",
        "--graceful-timeout",
        "5",
    ]  # fmt: skip (each request is logged as a JSON line by the chassis, not by gunicorn)
    # gunicorn's workers sum their metrics through files here (chassis.gunicorn_conf).
    metrics_dir = config.var_dir / "prometheus-multiproc" / service
    return ManagedProcess(
        service,
        argv,
        cwd=config.root / service,
        env=_service_env(config, service) | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
        log_path=config.log_dir / f"{service}.log",
        ready=lambda: answers_200(f"{url}/readyz"),
    )


def outbox_relay(config: StackConfig) -> ManagedProcess:
    """order_svc's outbox relay: starts the saga of every committed order; ready once running (it
    retries a Temporal or a database that is not there yet by itself)."""
    return ManagedProcess(
        "relay",
        [sys.executable, "manage.py", "relay_outbox"],
        cwd=config.root / "order_svc",
        env=_service_env(config, "order_svc"),
        log_path=config.log_dir / "relay.log",
    )


def worker_polls(config: StackConfig, pid: int | None) -> bool:
    """True once the worker process `pid` polls the task queue.

    Temporal lists a poller for minutes after it was last seen, so after a restart the dead worker
    still looks present: only a poller whose identity names this very process counts. temporalio's
    default identity is `<pid>@<hostname>`, which the worker keeps.
    """
    if pid is None:
        return False
    described = _temporal_cli(
        config, "task-queue", "describe", "--task-queue", TASK_QUEUE, "--output", "json"
    )
    try:
        pollers = [] if described is None else json.loads(described).get("pollers") or []
    except ValueError:
        return False
    return any(str(poller.get("identity", "")).startswith(f"{pid}@") for poller in pollers)


def orchestrator_worker(config: StackConfig) -> ManagedProcess:
    """The orchestrator worker; ready once this process (not an earlier one) polls the task queue."""
    env = _child_env(
        **config.tuning,
        **_temporal_env(config),
        SAGA_VAR_DIR=str(config.var_dir),  # where the local signing key lives
        WORKER_METRICS_ADDRESS=f"{HOST}:{config.worker_metrics_port}",
        ORDER_SVC_URL=config.order_url,
        PAYMENT_SVC_URL=config.payment_url,
        INVENTORY_SVC_URL=config.inventory_url,
    )
    worker = ManagedProcess(
        "worker",
        [sys.executable, "-m", "orchestrator.worker"],
        cwd=config.root,
        env=env,
        log_path=config.log_dir / "worker.log",
        ready=lambda: worker_polls(config, worker.pid),
        stop_timeout=15.0,  # the worker drains running activities for up to 10 s
    )
    return worker

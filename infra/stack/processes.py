"""The system's processes, as the local stack runs them: the Temporal dev server, each Django service
under gunicorn and its migrations, identity_svc's registration of its clients, order_svc's
outbox relay, each service's event publisher, notification_svc's notifier (its event consumer and
mail sender), and the orchestrator worker."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from urllib.parse import urlsplit

import httpx

from chassis.tokens import AUDITOR_SUBJECT, JWKS_PATH, ROLE_AUDITOR, ROLE_SAGA, SAGA_SUBJECT, TOKEN_PATH
from infra import storefront
from infra.stack.config import (
    _STACK_VARIABLES,
    BIN_DIR,
    HOST,
    IDENTITY_SERVICE,
    NOTIFICATION_SERVICE,
    StackConfig,
    free_ports,
)
from infra.stack.deployment import Deployment
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
#
# A task queue has four partitions by default, and each orders its own backlog by priority: a worker
# polling one partition gets that partition's next task, while a settling step may wait in another.
# Writing every new task to one partition makes the saga's priorities (orchestrator/policies.py)
# hold across the whole queue (docs/temporal.md#priorities has the measured order). Only writes
# shrink: the four read partitions drain what an older server state left in the other three.
#
# Whether an old worker version has drained is checked every 3 minutes, and reported only 3 minutes
# after its last saga closed, by default: a production cluster's pace. Locally, a rollout should show
# it within seconds (docs/temporal.md#a-rollout-step-by-step).
#
# The history service keeps every workflow it has touched in its mutable-state cache, up to 8096 of
# them on the dev server, closed ones included: the dev server's memory then grows with every saga
# until some 400 MiB more, which a long run shows as a leak (docs/resilience.md#a-long-soak). 512
# holds every saga in flight at the bench's highest concurrency ten times over.
DEV_SERVER_DYNAMIC_CONFIG: dict[str, int | str] = {
    "history.transferProcessorMaxPollRPS": 1000,
    "history.transferProcessorMaxPollHostRPS": 5000,
    "matching.numTaskqueueWritePartitions": 1,
    "matching.wv.VersionDrainageStatusRefreshInterval": "2s",
    "matching.wv.VersionDrainageStatusVisibilityGracePeriod": "2s",
    "history.cacheMaxSize": 512,
    "history.hostLevelCacheMaxSize": 512,
}


def dev_server_tuning() -> list[str]:
    """`temporal server start-dev` arguments for DEV_SERVER_DYNAMIC_CONFIG (each value as JSON)."""
    return [
        arg
        for name, value in DEV_SERVER_DYNAMIC_CONFIG.items()
        for arg in ("--dynamic-config-value", f"{name}={json.dumps(value)}")
    ]


def temporal_server(config: StackConfig) -> ManagedProcess:
    """The Temporal dev server, persisting to <var>/temporal.sqlite; ready once it knows the namespace."""
    http_port, metrics_port = free_ports(2, avoid=config.port_numbers())
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
        ports=(config.temporal_port, config.temporal_ui_port, http_port, metrics_port),
    )


def _service_env(config: StackConfig, service: str) -> dict[str, str]:
    extra = {"DJANGO_SETTINGS_MODULE": "config.settings", "SAGA_VAR_DIR": str(config.var_dir)}
    extra["DJANGO_ENV"] = config.django_env
    if service in config.database_urls:
        extra["DATABASE_URL"] = config.database_urls[service]
    if config.chaos:
        extra["SAGA_CHAOS"] = "1"
    if config.placements:  # each placed service is called at its own address, and calls through an uplink
        hosts = {
            address
            for placement in config.placements.values()
            for address in (placement.host, placement.uplink)
        }
        extra["ALLOWED_HOSTS"] = ",".join([HOST, "localhost", *sorted(hosts)])
    extra["EVENTS_BROKER_URL"] = config.broker_url
    # Every service trusts identity_svc's keys, identity_svc too (its API takes its own tokens).
    extra["JWT_ISSUER"] = config.identity_url
    extra["JWT_JWKS_URL"] = config.identity_url + JWKS_PATH
    if service == "order_svc":
        extra |= _temporal_env(config)
        extra["ORDER_WORKER_METRICS_URLS"] = config.worker_metrics_url
    if service == IDENTITY_SERVICE:
        extra["IDENTITY_ISSUER"] = config.identity_url
        if config.django_env != "production":
            extra["IDENTITY_DEV_TOKEN_SECRET"] = config.secrets().dev_token_secret
        # Without the gateway, identity_svc serves the storefront (infra/storefront.py publishes it).
        extra["IDENTITY_STOREFRONT_DIR"] = str(storefront.published_folder(config, storefront.IDENTITY_COPY))
    elif config.django_env != "production":  # which takes https:// origins only
        # The storefront identity_svc serves calls the other services from its origin; the gateway's
        # copy calls its own origin, and needs no CORS.
        extra["SAGA_CORS_ORIGINS"] = config.identity_url
    return _child_env(**config.tuning, **extra)


def _manage(*args: str) -> list[str]:
    """`manage.py` with `args`, Django's system checks left out: each service's `migrate` ran them
    at this start, on the same code and settings, and they would cost every other command (and
    each restart of one) half a second of CPU."""
    return [sys.executable, "manage.py", *args, "--skip-checks"]


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
    env = _service_env(config, service) | _metrics_dir(config, service)
    if (placement := config.placements.get(service)) is not None:
        argv, env = placement.launch(argv), placement.reroute(env)
    return ManagedProcess(
        service,
        argv,
        cwd=config.root / service,
        env=env,
        log_path=config.log_dir / f"{service}.log",
        ready=lambda: answers_200(f"{url}/readyz"),
        ports=(urlsplit(url).port or 80,),
    )


def _metrics_dir(config: StackConfig, service: str) -> dict[str, str]:
    """gunicorn's workers sum their metrics through files here (chassis.gunicorn_conf); the service's
    publisher and notifier write theirs there too, so the service's /metrics shows them."""
    return {"PROMETHEUS_MULTIPROC_DIR": str(config.var_dir / "prometheus-multiproc" / service)}


SAGA_SECRET_VARIABLE = "SAGA_CLIENT_SECRET"
AUDITOR_SECRET_VARIABLE = "SAGA_AUDITOR_CLIENT_SECRET"
SERVICE_CLIENTS = (
    (SAGA_SUBJECT, ROLE_SAGA, SAGA_SECRET_VARIABLE),
    (AUDITOR_SUBJECT, ROLE_AUDITOR, AUDITOR_SECRET_VARIABLE),
)
"""The worker's clients at identity_svc: (client id, role, the variable that holds its secret)."""


def client_arguments(config: StackConfig) -> list[list[str]]:
    """`manage.py ensure_client`'s arguments for each client at identity_svc: the worker's two, the
    saga's and the auditor's, each with its role and the variable that holds its secret, and the
    storefront's (a browser client, outside production) with every origin the stack serves it from."""
    services = [
        [client_id, "--service", "--role", role, "--secret-env", variable]
        for client_id, role, variable in SERVICE_CLIENTS
    ]
    redirect_uris = [arg for origin in storefront.origins(config) for arg in ("--redirect-uri", f"{origin}/")]
    browser = [storefront.CLIENT_ID, "--browser", *redirect_uris, "--development"]
    # Production refuses a development client, and redirect URIs that are not https://.
    return services if config.django_env == "production" else [browser, *services]


def client_registration(config: StackConfig) -> ManagedProcess:
    """`manage.py ensure_clients`, one-shot: every client of `client_arguments` registered at
    identity_svc in one process, with the secrets the stack generated for the service clients."""
    secrets = config.secrets()
    return ManagedProcess(
        "identity clients",
        _manage("ensure_clients", *map(json.dumps, client_arguments(config))),
        cwd=config.root / IDENTITY_SERVICE,
        env=_service_env(config, IDENTITY_SERVICE)
        | {
            SAGA_SECRET_VARIABLE: secrets.saga_client_secret,
            AUDITOR_SECRET_VARIABLE: secrets.auditor_client_secret,
        },
        log_path=config.log_dir / f"{IDENTITY_SERVICE}.log",
    )


def broker_setup(config: StackConfig) -> ManagedProcess:
    """`manage.py declare_broker`, one-shot: the services' exchanges, notification_svc's queue and its
    dead-letter queue, declared before any event is published (a message to an exchange without its
    queue would be dropped)."""
    return ManagedProcess(
        "broker setup",
        _manage("declare_broker"),
        cwd=config.root / NOTIFICATION_SERVICE,
        env=_service_env(config, NOTIFICATION_SERVICE),
        log_path=config.log_dir / f"{NOTIFICATION_SERVICE}.log",
    )


def publisher_name(service: str) -> str:
    return f"{service.removesuffix('_svc')}-publisher"


def event_publisher(config: StackConfig, service: str) -> ManagedProcess:
    """A service's event publisher: relays its events outbox to the broker; it retries a broker or a
    database that is not there yet by itself."""
    name = publisher_name(service)
    return ManagedProcess(
        name,
        _manage("publish_events"),
        cwd=config.root / service,
        env=_service_env(config, service) | _metrics_dir(config, service),
        log_path=config.log_dir / f"{name}.log",
    )


def notifier(config: StackConfig) -> ManagedProcess:
    """notification_svc's notifier: consumes the order events and sends the emails."""
    return ManagedProcess(
        "notifier",
        _manage("notify"),
        cwd=config.root / NOTIFICATION_SERVICE,
        env=_service_env(config, NOTIFICATION_SERVICE) | _metrics_dir(config, NOTIFICATION_SERVICE),
        log_path=config.log_dir / "notifier.log",
    )


def payment_consumer(config: StackConfig) -> ManagedProcess:
    """payment_svc's event consumer: opens the account of every customer identity_svc registers."""
    return ManagedProcess(
        "payment-consumer",
        _manage("consume_events"),
        cwd=config.root / "payment_svc",
        env=_service_env(config, "payment_svc") | _metrics_dir(config, "payment_svc"),
        log_path=config.log_dir / "payment-consumer.log",
    )


def outbox_relay(config: StackConfig) -> ManagedProcess:
    """order_svc's outbox relay: starts the saga of every committed order; ready once running (it
    retries a Temporal or a database that is not there yet by itself)."""
    return ManagedProcess(
        "relay",
        _manage("relay_outbox"),
        cwd=config.root / "order_svc",
        env=_service_env(config, "order_svc"),
        log_path=config.log_dir / "relay.log",
    )


def worker_version(config: StackConfig, pid: int | None) -> str | None:
    """The build id with which the worker process `pid` serves the task queue, once it has told the
    server so; None before.

    Temporal lists a worker for a while after it was last seen, so after a restart the dead worker
    still looks present: only the entry whose process id is this very process counts.
    """
    if pid is None:
        return None
    return Deployment(config.temporal_address).build_id_of(pid)


def orchestrator_worker(config: StackConfig) -> ManagedProcess:
    """The stack's orchestrator worker, its build id derived from the code (or SAGA_BUILD_ID); ready
    once this process (not an earlier one) serves the task queue."""
    metrics = {"WORKER_METRICS_ADDRESS": f"{HOST}:{config.worker_metrics_port}"}
    return _worker(config, "worker", metrics, ports=(config.worker_metrics_port,))


def rollout_worker(
    config: StackConfig,
    build_id: str,
    metrics_port: int | None = None,
    *,
    module: str = "orchestrator.worker",
) -> ManagedProcess:
    """A worker of version `build_id` beside the stack's own, as a rollout starts one; named
    `worker-<build id>`, its metrics on `metrics_port` (none by default). `module` is its entry
    point: a test of a rollout runs one whose saga has changed, as a new release would."""
    metrics = f"{HOST}:{metrics_port}" if metrics_port else ""
    extra = {"WORKER_METRICS_ADDRESS": metrics, "SAGA_BUILD_ID": build_id}
    return _worker(config, f"worker-{build_id}", extra, module, ports=(metrics_port,) if metrics_port else ())


def _worker(
    config: StackConfig,
    name: str,
    extra: dict[str, str],
    module: str = "orchestrator.worker",
    *,
    ports: tuple[int, ...] = (),
) -> ManagedProcess:
    secrets = config.secrets()  # read once: the worker's and the auditor's client secrets
    env = _child_env(
        **config.tuning,
        **_temporal_env(config),
        SAGA_VAR_DIR=str(config.var_dir),  # where its traces go
        SAGA_TOKEN_URL=config.identity_url + TOKEN_PATH,
        SAGA_CLIENT_SECRET=secrets.saga_client_secret,
        SAGA_AUDITOR_CLIENT_SECRET=secrets.auditor_client_secret,
        ORDER_SVC_URL=config.order_url,
        PAYMENT_SVC_URL=config.payment_url,
        INVENTORY_SVC_URL=config.inventory_url,
        NOTIFICATION_SVC_URL=config.notification_url,
        **extra,
    )
    worker = ManagedProcess(
        name,
        [sys.executable, "-m", module],
        cwd=config.root,
        env=env,
        log_path=config.log_dir / f"{name}.log",
        ready=lambda: worker_version(config, worker.pid) is not None,
        stop_timeout=15.0,  # the worker drains running activities for up to 10 s
        ports=ports,
    )
    return worker

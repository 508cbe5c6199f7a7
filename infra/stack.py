"""Local stack runner: the Temporal dev server, the three Django services, order_svc's outbox relay and
the orchestrator worker, each in its own process group on 127.0.0.1, started in order, probed until ready, restarted with
backoff when one dies (once supervised) and stopped whole.
It launches and watches processes; it knows nothing of orders, stock or money.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import httpx

from chassis.tokens import LocalKeys, key_dir
from infra.databases import database_urls, drop_databases, ensure_databases
from saga_contract import NAMESPACE, SEARCH_ATTRIBUTE_TYPES, TASK_QUEUE

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent
HOST = "127.0.0.1"
SERVICES = ("inventory_svc", "payment_svc", "order_svc")

# StackConfig field -> (what listens on it, the environment variable that moves it)
PORT_SETTINGS = {
    "temporal_port": ("temporal", "TEMPORAL_PORT"),
    "temporal_ui_port": ("temporal web ui", "TEMPORAL_UI_PORT"),
    "order_port": ("order_svc", "ORDER_SVC_PORT"),
    "payment_port": ("payment_svc", "PAYMENT_SVC_PORT"),
    "inventory_port": ("inventory_svc", "INVENTORY_SVC_PORT"),
    "worker_metrics_port": ("the worker's metrics", "WORKER_METRICS_PORT"),
}
DATABASE_URL_VARIABLES = {
    "order_svc": "ORDER_DATABASE_URL",
    "payment_svc": "PAYMENT_DATABASE_URL",
    "inventory_svc": "INVENTORY_DATABASE_URL",
}
# Set by the stack itself for the children that need them, never inherited from the caller.
_STACK_VARIABLES = frozenset(
    {
        "DATABASE_URL",
        "SAGA_CHAOS",
        "SAGA_VAR_DIR",
        "DJANGO_SETTINGS_MODULE",
        "PROMETHEUS_MULTIPROC_DIR",
        "WORKER_METRICS_ADDRESS",
        "ORDER_SVC_URL",
        "PAYMENT_SVC_URL",
        "INVENTORY_SVC_URL",
    }
)


class StackError(Exception):
    """The stack could not start or run as asked; the message is written for a person."""


class ConfigError(StackError):
    """The settings are unusable (a port taken, a malformed variable); nothing was started."""


class StartCancelled(StackError):
    """A stop was requested while the stack was starting; what had started is stopped again."""


@dataclass(frozen=True)
class StackConfig:
    """Where every process listens and keeps its files; `from_env` reads the documented variables."""

    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    order_port: int = 8001
    payment_port: int = 8002
    inventory_port: int = 8003
    worker_metrics_port: int = 9464
    prometheus_port: int | None = None
    """Run Prometheus (infra/monitoring.py) on this port beside the stack; None: no Prometheus."""
    gateway_port: int | None = None
    """Run the nginx gateway (infra/nginx.py) on this port in front of the stack; None: no gateway."""
    var_dir: Path = field(default_factory=lambda: REPO_ROOT / "var")
    chaos: bool = False
    database_urls: Mapping[str, str] = field(default_factory=dict)  # service name -> DATABASE_URL
    postgres_url: str | None = None
    """A PostgreSQL server: each service not given a DATABASE_URL gets a database of its own on it
    (infra/databases.py), named `<database_prefix>_<service>`; None: SQLite files in var_dir."""
    database_prefix: str = "saga"
    drop_databases: bool = False
    """Drop those databases when the stack stops (stacks of their own)."""
    root: Path = field(default_factory=lambda: REPO_ROOT)
    startup_timeout: float = 60.0  # seconds allowed to each startup step
    tuning: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for the services and the worker (saga deadline, breaker settings, ...)."""

    def __post_init__(self) -> None:
        # Children run in other working directories: every path they get must be absolute.
        object.__setattr__(self, "var_dir", Path(self.var_dir).absolute())
        object.__setattr__(self, "root", Path(self.root).absolute())
        if self.postgres_url:
            try:
                on_server = database_urls(self.postgres_url, self.database_prefix)
            except ValueError as error:
                raise ConfigError(str(error)) from None
            object.__setattr__(self, "database_urls", on_server | dict(self.database_urls))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> StackConfig:
        """Ports, SAGA_VAR_DIR and the per-service database URLs from `environ` (default os.environ);
        `overrides` win over the environment, and an overridden variable is not even read."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {
            name: parse_port(variable, environ[variable])
            for name, (_, variable) in PORT_SETTINGS.items()
            if environ.get(variable) and name not in overrides
        }
        if environ.get("SAGA_VAR_DIR"):
            values["var_dir"] = Path(environ["SAGA_VAR_DIR"])
        values["database_urls"] = {
            service: environ[variable]
            for service, variable in DATABASE_URL_VARIABLES.items()
            if environ.get(variable)
        }
        if environ.get("SAGA_POSTGRES_URL") and "postgres_url" not in overrides:
            values["postgres_url"] = environ["SAGA_POSTGRES_URL"]
        return cls(**(values | overrides))

    @classmethod
    def on_free_ports(cls, var_dir: Path, **settings: object) -> StackConfig:
        """A stack of its own (tests, chaos runs): free ports and `var_dir`; `settings` win.
        With SAGA_POSTGRES_URL in the environment it runs on PostgreSQL, on databases of its own that
        are dropped when it stops."""
        temporal, ui, order, payment, inventory, metrics = free_ports(6)
        return cls.from_env(
            temporal_port=temporal, temporal_ui_port=ui, order_port=order, payment_port=payment,
            inventory_port=inventory, worker_metrics_port=metrics, var_dir=var_dir,
            database_prefix=f"saga_stack{temporal}", drop_databases=True, **settings,
        )

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "logs"

    @property
    def order_url(self) -> str:
        return self.service_url("order_svc")

    @property
    def payment_url(self) -> str:
        return self.service_url("payment_svc")

    @property
    def inventory_url(self) -> str:
        return self.service_url("inventory_svc")

    @property
    def temporal_address(self) -> str:
        return f"{HOST}:{self.temporal_port}"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.temporal_ui_port}"

    @property
    def worker_metrics_url(self) -> str:
        return f"http://{HOST}:{self.worker_metrics_port}/metrics"

    def service_url(self, service: str) -> str:
        port = {
            "order_svc": self.order_port,
            "payment_svc": self.payment_port,
            "inventory_svc": self.inventory_port,
        }[service]
        return f"http://{HOST}:{port}"

    def local_keys(self) -> LocalKeys:
        """The stack's signing key pair under `<var>/keys`, created on first use: the services trust
        it, the worker signs its service tokens with it, and sagactl and the tests mint tokens."""
        return LocalKeys.ensure(key_dir(self.var_dir))

    def workflow_url(self, workflow_id: str) -> str:
        """The Temporal Web UI page of one workflow."""
        return f"{self.ui_url}/namespaces/{NAMESPACE}/workflows/{workflow_id}"

    def ports(self) -> list[tuple[str, str, int]]:
        """(what listens, variable that moves it, port) for every configured port."""
        ports = [(owner, variable, getattr(self, name)) for name, (owner, variable) in PORT_SETTINGS.items()]
        if self.prometheus_port is not None:
            ports.append(("prometheus", "PROMETHEUS_PORT", self.prometheus_port))
        if self.gateway_port is not None:
            ports.append(("the gateway", "GATEWAY_PORT", self.gateway_port))
        return ports

    def check_ports(self) -> None:
        """Raise ConfigError naming the variable to change if two settings share a port or one is taken."""
        claimed: dict[int, str] = {}
        for owner, variable, port in self.ports():
            if port in claimed:
                raise ConfigError(
                    f"port {port} is set for both {claimed[port]} and {owner}; set {variable} to another port"
                )
            claimed[port] = owner
            if not port_is_free(port):
                raise ConfigError(f"port {port} ({owner}) is already in use; set {variable} to another port")


def parse_port(variable: str, text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ConfigError(f"{variable} must be a port number from 1 to 65535, not {text!r}")
    return port


def port_is_free(port: int) -> bool:
    """True when a server could listen on 127.0.0.1:`port` now (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, avoid: Collection[int] = ()) -> list[int]:
    """Ports the OS calls free right now, none of them in `avoid` and no two alike."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        if port not in avoid and port not in found:
            found.append(port)
    return found


class ManagedProcess:
    """One child process, leader of its own process group, its output appended to a log file.

    `start` launches it, `wait_ready` polls its readiness probe (none: ready once running), `stop` ends
    the whole group (SIGTERM, then SIGKILL) and waits until no member is left. It may be started again
    after it has exited: the seam for supervision.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
        ready: Callable[[], bool] | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.env = dict(env)
        self.log_path = log_path
        self.stop_timeout = stop_timeout
        self._ready = ready
        self._popen: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int | None:
        """Pid of the last started process, which is also its process group id."""
        return None if self._popen is None else self._popen.pid

    @property
    def returncode(self) -> int | None:
        """None while running or never started; negative for death by a signal."""
        return None if self._popen is None else self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        if self.is_alive():
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self._log_offset = log_file.tell()
            stamp = datetime.now().isoformat(timespec="seconds")
            log_file.write(f"=== {stamp} starting {self.name}: {shlex.join(self.argv)}\n".encode())
            log_file.flush()
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                raise StackError(f"cannot start {self.name} ({shlex.join(self.argv)}): {error}") from error

    def wait_ready(self, timeout: float, *, cancel: threading.Event | None = None) -> None:
        """Return once the readiness probe passes; StackError if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            _raise_if_cancelled(cancel)
            if not self.is_alive():
                raise self.failure(f"{self.exit_description()} while starting")
            if self._ready is None or self._ready():
                return
            if time.monotonic() >= deadline:
                raise self.failure(f"was not ready after {timeout:g} s")
            _pause(0.2, cancel)

    def wait_exit(self, timeout: float, *, cancel: threading.Event | None = None) -> int:
        """The exit code of a one-shot process; StackError (after stopping it) if it runs too long."""
        deadline = time.monotonic() + timeout
        while (code := self.returncode) is None:
            _raise_if_cancelled(cancel)
            if time.monotonic() >= deadline:
                self.stop()
                raise self.failure(f"did not finish within {timeout:g} s")
            _pause(0.1, cancel)
        return code

    def stop(self) -> None:
        """End every process of the group, gently first; a no-op for a group that is already gone."""
        if self._popen is None or self._group_gone():
            return
        group = self._popen.pid
        log.info("stopping %s", self.name)
        _signal_group(group, signal.SIGTERM)
        if self._wait_group_gone(self.stop_timeout):
            return
        log.warning("%s still running %.0f s after SIGTERM; sending SIGKILL", self.name, self.stop_timeout)
        _signal_group(group, signal.SIGKILL)
        if not self._wait_group_gone(5.0):
            log.error("process group %d of %s survived SIGKILL", group, self.name)

    def exit_description(self) -> str:
        """How the process ended, for a person: 'exited with code 1', 'was killed by SIGKILL'."""
        code = self.returncode
        if code is None:
            return "is running"
        if code >= 0:
            return f"exited with code {code}"
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"

    def log_tail(self, lines: int = 20) -> str:
        """The last `lines` lines this process (since its last start) wrote to its log."""
        try:
            with self.log_path.open("rb") as log_file:
                log_file.seek(self._log_offset)
                text = log_file.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip("\n").splitlines()[-lines:])

    def failure(self, what: str) -> StackError:
        """A StackError saying `what` happened to this process, with the tail of its log."""
        tail = self.log_tail() or "(nothing)"
        return StackError(f"{self.name} {what}; last lines of {self.log_path}:\n{tail}")

    def _group_gone(self) -> bool:
        # The leader must be reaped, not merely a zombie: a multithreaded leader shows as a zombie while
        # its other threads are still exiting (and may still hold its ports).
        assert self._popen is not None
        return self._popen.poll() is not None and not group_alive(self._popen.pid)

    def _wait_group_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._group_gone():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


def group_alive(pgid: int) -> bool:
    """True while any process of group `pgid` runs; zombies waiting for their reaper do not count."""
    proc = Path("/proc")
    if not proc.is_dir():  # no procfs (macOS): ask the kernel, which also counts zombies
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for stat_file in proc.glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:  # the process ended while we looked
            continue
        # Fields after "(comm)": state, ppid, pgrp, ...; comm itself may hold spaces and parentheses.
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            return True
    return False


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _raise_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise StartCancelled("stop requested while starting")


def _pause(seconds: float, cancel: threading.Event | None) -> None:
    if cancel is None:
        time.sleep(seconds)
    else:
        cancel.wait(seconds)


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
    extra["DJANGO_ENV"] = os.environ.get("DJANGO_ENV", "development")  # the WSGI entry point's default is production
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
        str(BIN_DIR / "gunicorn"), "config.wsgi:application",
        "--config", "python:chassis.gunicorn_conf",
        "--bind", url.removeprefix("http://"),
        "--workers", "2",
        "--threads", "4",
        "--graceful-timeout", "5",
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


@dataclass(frozen=True)
class RestartPolicy:
    """How a Supervisor paces restarts: the first after `initial_backoff` seconds, each further one
    twice as long, never more than `max_backoff`; a process that stayed up `reset_after` seconds
    starts over at `initial_backoff`. Processes are looked at every `poll_interval` seconds."""

    initial_backoff: float = 0.5
    max_backoff: float = 10.0
    reset_after: float = 30.0
    poll_interval: float = 0.25

    def backoff(self, failures: int) -> float:
        """Seconds to wait before the restart that follows `failures` failures in a row (1 or more)."""
        return min(self.initial_backoff * 2 ** (failures - 1), self.max_backoff)


class SupervisionEvent(NamedTuple):
    """Something the supervisor saw or did: a death, a failed restart, a process back."""

    time: float  # seconds since the epoch
    name: str  # the process
    description: str  # e.g. "was killed by SIGKILL; restarting in 0.5 s (restart 1)"


class Supervisor:
    """Restarts any of its processes that dies, as an orchestrator would, one watcher thread each.

    For a dead process it records and logs how it died, ends what is left of its process group (a
    SIGKILLed gunicorn master leaves workers holding the port), waits the policy's backoff, starts
    it again with the same argv and environment and waits until it is ready; a restart that dies or
    is not ready within `ready_timeout` counts as one more failure. `stop` ends supervision only:
    once it returns nothing is restarted any more, and stopping the processes is the caller's part.
    """

    def __init__(
        self, processes: Mapping[str, ManagedProcess], *, policy: RestartPolicy, ready_timeout: float
    ) -> None:
        self.processes = dict(processes)
        self.policy = policy
        self.ready_timeout = ready_timeout
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._restarts = dict.fromkeys(self.processes, 0)
        self._events: list[SupervisionEvent] = []
        self._threads = [
            threading.Thread(target=self._watch, args=(name, process), name=f"supervise {name}", daemon=True)
            for name, process in self.processes.items()
        ]

    @property
    def restarts(self) -> dict[str, int]:
        """How many times each process was started again."""
        with self._lock:
            return dict(self._restarts)

    @property
    def events(self) -> list[SupervisionEvent]:
        """Every death, failed restart and recovery so far, oldest first."""
        with self._lock:
            return list(self._events)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop supervising: a pending restart is dropped, a restart waiting for readiness abandoned."""
        self._stopping.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()

    def _watch(self, name: str, process: ManagedProcess) -> None:
        failures = 0
        up_since = time.monotonic()
        while not self._stopping.wait(self.policy.poll_interval):
            if process.is_alive():
                continue
            if time.monotonic() - up_since >= self.policy.reset_after:
                failures = 0
            what_happened: str | None = process.exit_description()
            while what_happened is not None:
                failures += 1
                delay = self.policy.backoff(failures)
                with self._lock:
                    restart = self._restarts[name] + 1
                self._record(
                    logging.WARNING, name, f"{what_happened}; restarting in {delay:.1f} s (restart {restart})"
                )
                restart_at = time.monotonic() + delay
                process.stop()  # whatever is left of its group, so that its ports are free again
                if self._stopping.wait(max(0.0, restart_at - time.monotonic())):
                    return
                try:
                    what_happened = self._restart(name, process, restart)
                except StartCancelled:
                    return
            up_since = time.monotonic()

    def _restart(self, name: str, process: ManagedProcess, restart: int) -> str | None:
        """Start `process` again and wait until it is ready: None, or what went wrong."""
        with self._lock:
            self._restarts[name] = restart
        began = time.monotonic()
        try:
            process.start()
        except StackError as error:  # its executable is gone, say
            return f"could not be started again ({error})"
        try:
            process.wait_ready(self.ready_timeout, cancel=self._stopping)
        except StartCancelled:
            raise
        except StackError:
            if process.is_alive():
                return f"was not ready {self.ready_timeout:g} s after restart {restart}"
            return f"{process.exit_description()} while restarting"
        self._record(
            logging.INFO,
            name,
            f"is back after restart {restart} (pid {process.pid}, ready in {time.monotonic() - began:.1f} s)",
        )
        return None

    def _record(self, level: int, name: str, description: str) -> None:
        with self._lock:
            self._events.append(SupervisionEvent(time.time(), name, description))
        log.log(level, "%s %s", name, description)


class Stack:
    """The whole local system: Temporal, then migrations, the three services and order_svc's outbox
    relay, then the worker; stopped in reverse. Use it as a context manager, or call `start` and `stop`; call `supervise`
    once started to have every process that dies restarted (see Supervisor)."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, ManagedProcess] = {"temporal": temporal_server(config)}
        for service in SERVICES:
            self.processes[service] = django_service(config, service)
        self.processes["relay"] = outbox_relay(config)
        self.processes["worker"] = orchestrator_worker(config)
        if config.prometheus_port is not None:
            from infra.monitoring import prometheus_binary, prometheus_server

            binary = prometheus_binary()
            if binary is None:
                raise ConfigError("prometheus is not installed (Debian: apt-get install prometheus)")
            self.processes["prometheus"] = prometheus_server(config, binary)
        if config.gateway_port is not None:
            from infra.nginx import gateway_server, nginx_binary

            binary = nginx_binary()
            if binary is None:
                raise ConfigError("nginx is not installed (Debian: apt-get install nginx)")
            self.processes["gateway"] = gateway_server(config, binary)
        self._supervisor: Supervisor | None = None

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def order_url(self) -> str:
        return self.config.order_url

    @property
    def payment_url(self) -> str:
        return self.config.payment_url

    @property
    def inventory_url(self) -> str:
        return self.config.inventory_url

    @property
    def temporal_address(self) -> str:
        return self.config.temporal_address

    @property
    def ui_url(self) -> str:
        return self.config.ui_url

    def start(self, *, cancel: threading.Event | None = None) -> None:
        """Start everything and wait until each part is ready. On any failure, or once `cancel` is
        set, what was started is stopped again before the error propagates."""
        self.config.check_ports()
        self.config.local_keys()
        began = time.monotonic()
        try:
            self._bring_up(["temporal"], cancel)
            if self.config.postgres_url:
                created = ensure_databases(self._own_databases())
                if created:
                    log.info("databases created: %s", ", ".join(created))
            self._migrate(cancel)
            self._bring_up([*SERVICES, "relay"], cancel)
            self._bring_up(["worker"], cancel)
            extras = [name for name in ("gateway", "prometheus") if name in self.processes]
            if extras:
                self._bring_up(extras, cancel)
        except BaseException:
            self.stop()
            raise
        log.info("stack ready in %.1f s; logs in %s", time.monotonic() - began, self.config.log_dir)

    def stop(self) -> None:
        """End supervision first, so nothing is restarted behind our back, then stop every process
        group, newest first; safe to call more than once."""
        if self._supervisor is not None:
            self._supervisor.stop()
        for process in reversed(self.processes.values()):
            process.stop()
        if self.config.postgres_url and self.config.drop_databases:
            drop_databases(self._own_databases())

    def _own_databases(self) -> dict[str, str]:
        """The databases on config.postgres_url (not those given by *_DATABASE_URL)."""
        return {
            service: url for service, url in database_urls(self.config.postgres_url, self.config.database_prefix).items()
            if self.config.database_urls.get(service) == url
        }

    def supervise(self, policy: RestartPolicy | None = None) -> None:
        """From now until `stop`, restart any process that dies (migrations are one-shot and not
        among them), with the backoff of `policy` and readiness within the startup timeout."""
        if self._supervisor is not None:
            raise StackError("the stack is already supervised")
        if any(process.pid is None for process in self.processes.values()):
            raise StackError("start the stack before supervising it")
        self._supervisor = Supervisor(
            self.processes, policy=policy or RestartPolicy(), ready_timeout=self.config.startup_timeout
        )
        self._supervisor.start()

    @property
    def restarts(self) -> dict[str, int]:
        """How many times supervision started each process again."""
        if self._supervisor is None:
            return dict.fromkeys(self.processes, 0)
        return self._supervisor.restarts

    @property
    def events(self) -> list[SupervisionEvent]:
        """What supervision saw and did: deaths, failed restarts, recoveries; oldest first."""
        return [] if self._supervisor is None else self._supervisor.events

    def kill(self, name: str, signum: int = signal.SIGKILL) -> bool:
        """Send `signum` to every process of `name`'s group, as `kill -9 -<pgid>` from a shell would.
        False when it was not running (stopped, or dead and not yet restarted). Supervision carries
        on, so a supervised process comes back."""
        process = self.processes[name]
        if process.pid is None or not process.is_alive():
            return False
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def _bring_up(self, names: list[str], cancel: threading.Event | None) -> None:
        began = time.monotonic()
        for name in names:
            self.processes[name].start()
        for name in names:
            process = self.processes[name]
            process.wait_ready(self.config.startup_timeout, cancel=cancel)
            log.info("%s ready (pid %d, %.1f s)", name, process.pid, time.monotonic() - began)

    def _migrate(self, cancel: threading.Event | None) -> None:
        began = time.monotonic()
        migrations = [service_migration(self.config, service) for service in SERVICES]
        try:
            for migration in migrations:
                migration.start()
            for migration in migrations:
                if migration.wait_exit(self.config.startup_timeout, cancel=cancel) != 0:
                    raise migration.failure(migration.exit_description())
        finally:
            for migration in migrations:
                migration.stop()
        log.info("migrations applied (%.1f s)", time.monotonic() - began)

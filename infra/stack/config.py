"""Where the local stack listens and keeps its files: ports, folders, databases, and the errors of a
stack that cannot start as asked."""

from __future__ import annotations

import os
import random
import socket
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict, Unpack

from infra.broker import can_manage_vhosts, with_vhost
from infra.databases import database_urls
from infra.identity import DevTokens, StackSecrets
from saga_contract import DEFAULT_AUDIT_EVERY_SECONDS, NAMESPACE

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
HOST = "127.0.0.1"
DEFAULT_LOG_MAX_BYTES = 64 * 2**20
SERVICES = ("inventory_svc", "payment_svc", "order_svc")
"""The services the saga calls."""
NOTIFICATION_SERVICE = "notification_svc"
IDENTITY_SERVICE = "identity_svc"
ALL_SERVICES = (IDENTITY_SERVICE, *SERVICES, NOTIFICATION_SERVICE)
"""Every Django service: identity_svc, which signs every token, the saga's three, and
notification_svc, which hears of orders by events."""
PUBLISHING_SERVICES = (*SERVICES, IDENTITY_SERVICE)
"""The services with an events outbox, each relayed by a publisher process of its own."""

# The StackConfig fields that are ports of every stack, PORT_SETTINGS's keys.
PortField = Literal[
    "temporal_port",
    "temporal_ui_port",
    "order_port",
    "payment_port",
    "inventory_port",
    "notification_port",
    "identity_port",
    "worker_metrics_port",
]
# StackConfig field -> (what listens on it, the environment variable that moves it)
PORT_SETTINGS: dict[PortField, tuple[str, str]] = {
    "temporal_port": ("temporal", "TEMPORAL_PORT"),
    "temporal_ui_port": ("temporal web ui", "TEMPORAL_UI_PORT"),
    "order_port": ("order_svc", "ORDER_SVC_PORT"),
    "payment_port": ("payment_svc", "PAYMENT_SVC_PORT"),
    "inventory_port": ("inventory_svc", "INVENTORY_SVC_PORT"),
    "notification_port": ("notification_svc", "NOTIFICATION_SVC_PORT"),
    "identity_port": ("identity_svc", "IDENTITY_SVC_PORT"),
    "worker_metrics_port": ("the worker's metrics", "WORKER_METRICS_PORT"),
}
OptionalPortField = Literal["prometheus_port", "gateway_port"]
# The parts `sagactl up` starts only when asked (--prometheus, --gateway): StackConfig field -> (what
# listens on it, the variable that moves it, its port unless moved).
OPTIONAL_PORT_SETTINGS: dict[OptionalPortField, tuple[str, str, int]] = {
    "prometheus_port": ("prometheus", "PROMETHEUS_PORT", 9090),
    "gateway_port": ("the gateway", "GATEWAY_PORT", 8000),
}
DATABASE_URL_VARIABLES = {
    "order_svc": "ORDER_DATABASE_URL",
    "payment_svc": "PAYMENT_DATABASE_URL",
    "inventory_svc": "INVENTORY_DATABASE_URL",
    "notification_svc": "NOTIFICATION_DATABASE_URL",
    "identity_svc": "IDENTITY_DATABASE_URL",
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
        "NOTIFICATION_SVC_URL",
        "EVENTS_BROKER_URL",
        "JWT_ISSUER",
        "JWT_JWKS_URL",
        "IDENTITY_ISSUER",
        "IDENTITY_DEV_TOKEN_SECRET",
        "SAGA_TOKEN_URL",
        "SAGA_CLIENT_ID",
        "SAGA_CLIENT_SECRET",
        "SAGA_AUDITOR_CLIENT_ID",
        "SAGA_AUDITOR_CLIENT_SECRET",
        "SAGA_CORS_ORIGINS",
        "IDENTITY_STOREFRONT_DIR",
    }
)


class StackError(Exception):
    """The stack could not start or run as asked; the message is written for a person."""


class ConfigError(StackError):
    """The settings are unusable (a port taken, a malformed variable); nothing was started."""


class StartCancelled(StackError):
    """A stop was requested while the stack was starting; what had started is stopped again."""


class CannotStart(StackError):
    """A process cannot be started, and starting it again would not help: its binary is missing, or
    another process holds one of its ports. Nothing of it was started."""


@dataclass(frozen=True)
class Placement:
    """A service that runs in a network namespace of its own instead of on the machine's loopback
    (infra/chaos/netns.py makes them): launched through `ip netns exec`, listening on `host`, which
    the other processes call across a real link; what it reaches on the loopback itself (identity's
    keys, Temporal, PostgreSQL, RabbitMQ) it reaches at `uplink`, the link's other end, where a proxy
    forwards the same port to 127.0.0.1."""

    netns: str
    host: str
    uplink: str

    REROUTED = ("JWT_JWKS_URL", "TEMPORAL_ADDRESS", "DATABASE_URL", "EVENTS_BROKER_URL")
    """The variables that name a loopback address the service connects to. JWT_ISSUER names one too,
    but as the tokens' issuer, which must stay what identity_svc writes in them."""

    def launch(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv]

    def reroute(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with every loopback address in REROUTED through the uplink."""
        return {
            name: value.replace(f"{HOST}:", f"{self.uplink}:") if name in self.REROUTED else value
            for name, value in env.items()
        }


PG_BIN_DIR_VARIABLE = "PG_BIN_DIR"


def postgres_bin_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder of the PostgreSQL server binaries a throwaway server runs from (PG_BIN_DIR in
    `environ`, default os.environ), or None to look for them (infra/pg_server.py)."""
    value = (os.environ if environ is None else environ).get(PG_BIN_DIR_VARIABLE)
    return Path(value) if value else None


class OwnStackSettings(TypedDict, total=False):
    """The StackConfig fields that `StackConfig.on_free_ports` takes by name (it sets the others)."""

    prometheus_port: int | None
    gateway_port: int | None
    chaos: bool
    database_urls: Mapping[str, str]
    postgres_url: str | None
    mail_server: str | None
    rabbitmq_url: str | None
    root: Path
    startup_timeout: float
    tuning: Mapping[str, str]
    audit_every_seconds: int
    schedules_paused: bool
    log_max_bytes: int
    storefront_dist: Path | None
    placements: Mapping[str, Placement]


class StackSettings(OwnStackSettings, total=False):
    """Every StackConfig field by name, each optional: what `StackConfig.from_env` takes."""

    temporal_port: int
    temporal_ui_port: int
    order_port: int
    payment_port: int
    inventory_port: int
    notification_port: int
    identity_port: int
    worker_metrics_port: int
    var_dir: Path
    database_prefix: str
    drop_databases: bool
    django_env: str


@dataclass(frozen=True)
class StackConfig:
    """Where every process listens and keeps its files; `from_env` reads the documented variables."""

    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    order_port: int = 8001
    payment_port: int = 8002
    inventory_port: int = 8003
    notification_port: int = 8004
    identity_port: int = 8005
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
    """Drop those databases when the stack stops (stacks of their own), and the broker's virtual host
    made for it."""
    rabbitmq_url: str | None = None
    """RabbitMQ (amqp://user:password@host:5672/vhost) for the integration events; None: kombu's
    filesystem transport under var_dir. A stack of its own gets a virtual host of its own there
    (infra/broker.py), named like its databases."""
    root: Path = field(default_factory=lambda: REPO_ROOT)
    startup_timeout: float = 60.0  # seconds allowed to each startup step
    tuning: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for the services and the worker (saga deadline, breaker settings, ...), and
    the gateway's GATEWAY_* settings."""
    django_env: str = "development"
    """The services' DJANGO_ENV (their WSGI entry point alone would default to production)."""
    audit_every_seconds: int = DEFAULT_AUDIT_EVERY_SECONDS
    """How often the audit schedule runs the audit (SAGA_AUDIT_EVERY_SECONDS)."""
    schedules_paused: bool = False
    """Create the audit and purge schedules paused (stacks of tests, which trigger runs themselves)."""
    log_max_bytes: int = DEFAULT_LOG_MAX_BYTES
    """A supervised process's log is rotated at this size, one rotated part kept (SAGA_LOG_MAX_BYTES)."""
    mail_server: str | None = None
    """The SMTP server notification_svc sends through, as `EMAIL_HOST[:EMAIL_PORT]` from the
    environment (which the service reads itself); None: mail is written to files under var_dir."""
    storefront_dist: Path | None = None
    """The built storefront the stack publishes (infra/storefront.py); None: <root>/storefront/dist."""
    placements: Mapping[str, Placement] = field(default_factory=dict)
    """Services run in network namespaces of their own, by name (chaos runs); the rest on 127.0.0.1."""

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
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        extras: Collection[OptionalPortField] = (),
        **overrides: Unpack[StackSettings],
    ) -> StackConfig:
        """Ports (those of the optional parts in `extras` too), SAGA_VAR_DIR, DJANGO_ENV, the gateway's
        GATEWAY_* settings and the per-service database URLs from `environ` (default os.environ);
        `overrides` win over the environment, and an overridden variable is not even read."""
        environ = os.environ if environ is None else environ
        values: StackSettings = {}
        for name, (_, variable) in PORT_SETTINGS.items():
            if environ.get(variable) and name not in overrides:
                values[name] = parse_port(variable, environ[variable])
        for extra in extras:
            _, variable, default = OPTIONAL_PORT_SETTINGS[extra]
            if extra not in overrides:
                values[extra] = parse_port(variable, environ.get(variable) or str(default))
        if environ.get("DJANGO_ENV"):
            values["django_env"] = environ["DJANGO_ENV"]
        gateway = {name: value for name, value in environ.items() if name.startswith("GATEWAY_")}
        values["tuning"] = gateway | dict(overrides.pop("tuning", {}))
        if environ.get("SAGA_VAR_DIR"):
            values["var_dir"] = Path(environ["SAGA_VAR_DIR"])
        values["database_urls"] = {
            service: environ[variable]
            for service, variable in DATABASE_URL_VARIABLES.items()
            if environ.get(variable)
        }
        if environ.get("SAGA_POSTGRES_URL") and "postgres_url" not in overrides:
            values["postgres_url"] = environ["SAGA_POSTGRES_URL"]
        if environ.get("SAGA_RABBITMQ_URL") and "rabbitmq_url" not in overrides:
            values["rabbitmq_url"] = environ["SAGA_RABBITMQ_URL"]
        if environ.get("SAGA_AUDIT_EVERY_SECONDS") and "audit_every_seconds" not in overrides:
            values["audit_every_seconds"] = parse_interval(
                "SAGA_AUDIT_EVERY_SECONDS", environ["SAGA_AUDIT_EVERY_SECONDS"]
            )
        if environ.get("SAGA_LOG_MAX_BYTES") and "log_max_bytes" not in overrides:
            values["log_max_bytes"] = parse_size("SAGA_LOG_MAX_BYTES", environ["SAGA_LOG_MAX_BYTES"])
        if environ.get("EMAIL_HOST"):
            port = environ.get("EMAIL_PORT")
            values["mail_server"] = f"{environ['EMAIL_HOST']}:{port}" if port else environ["EMAIL_HOST"]
        return cls(**(values | overrides))

    @classmethod
    def on_free_ports(
        cls, var_dir: Path, *, avoid: Collection[int] = (), **settings: Unpack[OwnStackSettings]
    ) -> StackConfig:
        """A stack of its own (tests, chaos runs): free ports and `var_dir`; `settings` win. `avoid`:
        ports it must not take although they are free now (another stack's, picked but not started).
        With SAGA_POSTGRES_URL in the environment it runs on PostgreSQL, on databases of its own that
        are dropped when it stops; with SAGA_RABBITMQ_URL, on RabbitMQ, in a virtual host of its own.
        Its schedules are paused unless `schedules_paused=False`: a test
        triggers the runs it wants."""
        settings.setdefault("schedules_paused", True)
        temporal, ui, order, payment, inventory, notification, identity, metrics = free_ports(8, avoid=avoid)
        return cls.from_env(
            temporal_port=temporal,
            temporal_ui_port=ui,
            order_port=order,
            payment_port=payment,
            inventory_port=inventory,
            notification_port=notification,
            identity_port=identity,
            worker_metrics_port=metrics,
            var_dir=var_dir,
            database_prefix=f"saga_stack{temporal}",
            drop_databases=True,
            **settings,
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
    def notification_url(self) -> str:
        return self.service_url(NOTIFICATION_SERVICE)

    @property
    def identity_url(self) -> str:
        """identity_svc: the issuer of every token the stack's services accept."""
        return self.service_url(IDENTITY_SERVICE)

    @property
    def broker_vhost(self) -> str | None:
        """The virtual host made for this stack alone (dropped with it), or None."""
        if self.rabbitmq_url is None or not self.drop_databases or not can_manage_vhosts():
            return None
        return self.database_prefix

    @property
    def broker_url(self) -> str:
        """Every process's EVENTS_BROKER_URL."""
        if self.rabbitmq_url is None:
            return "filesystem://"
        vhost = self.broker_vhost
        return self.rabbitmq_url if vhost is None else with_vhost(self.rabbitmq_url, vhost)

    @property
    def gateway_url(self) -> str | None:
        """The gateway's plain-HTTP origin, or None when the stack runs no gateway."""
        return None if self.gateway_port is None else f"http://{HOST}:{self.gateway_port}"

    @property
    def gateway_tls_url(self) -> str | None:
        """The gateway's HTTPS origin, where GATEWAY_TLS_CERT and GATEWAY_TLS_KEY give it a certificate."""
        if self.gateway_port is None or not (
            self.tuning.get("GATEWAY_TLS_CERT") and self.tuning.get("GATEWAY_TLS_KEY")
        ):
            return None
        return f"https://{HOST}:{self.tuning.get('GATEWAY_TLS_PORT', '8443')}"

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
            NOTIFICATION_SERVICE: self.notification_port,
            IDENTITY_SERVICE: self.identity_port,
        }[service]
        placement = self.placements.get(service)
        return f"http://{placement.host if placement else HOST}:{port}"

    def own_databases(self) -> dict[str, str]:
        """The databases made for this stack on its PostgreSQL server (none on SQLite), not those
        given by *_DATABASE_URL."""
        if not self.postgres_url:
            return {}
        return {
            service: url
            for service, url in database_urls(self.postgres_url, self.database_prefix).items()
            if self.database_urls.get(service) == url
        }

    def secrets(self) -> StackSecrets:
        """The stack's generated secrets under `<var>/identity`, made on first use."""
        return StackSecrets.ensure(self.var_dir / "identity")

    def tokens(self) -> DevTokens:
        """Tokens for sagactl and the tests, from identity_svc's development path (the stack's own
        secret opens it): any customer, an operator, the saga, the auditor."""
        return DevTokens(self.identity_url, self.secrets().dev_token_secret)

    def workflow_url(self, workflow_id: str) -> str:
        """The Temporal Web UI page of one workflow."""
        return f"{self.ui_url}/namespaces/{NAMESPACE}/workflows/{workflow_id}"

    def ports(self) -> list[tuple[str, str, int]]:
        """(what listens, variable that moves it, port) for every configured port."""
        ports = [(owner, variable, getattr(self, name)) for name, (owner, variable) in PORT_SETTINGS.items()]
        for name, (owner, variable, _) in OPTIONAL_PORT_SETTINGS.items():
            port = getattr(self, name)
            if port is not None:
                ports.append((owner, variable, port))
        return ports

    def port_numbers(self) -> list[int]:
        """Every configured port, as `ports()` lists them."""
        return [port for _, _, port in self.ports()]

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


MIN_AUDIT_EVERY_SECONDS = 10


def parse_interval(variable: str, text: str) -> int:
    """A schedule's interval in whole seconds, at least MIN_AUDIT_EVERY_SECONDS."""
    if not text.isdigit() or int(text) < MIN_AUDIT_EVERY_SECONDS:
        raise ConfigError(
            f"{variable} must be a whole number of seconds, at least {MIN_AUDIT_EVERY_SECONDS}, not {text!r}"
        )
    return int(text)


def parse_size(variable: str, text: str) -> int:
    """A size in bytes, a positive whole number."""
    if not text.isdigit() or int(text) == 0:
        raise ConfigError(f"{variable} must be a positive whole number of bytes, not {text!r}")
    return int(text)


def port_is_free(port: int) -> bool:
    """True when a server could listen on 127.0.0.1:`port` now (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PICKED_PORT = 20000
PORT_RANGE_VARIABLE = "SAGA_FREE_PORTS"
"""LOW-HIGH: the range free_ports draws from, below the kernel's ephemeral range (CI gives each of the
runs it starts side by side a range of its own, so that no two pick one port at the same moment)."""
FEWEST_PICKABLE_PORTS = 500


def ephemeral_floor() -> int:
    """The lowest port the kernel hands out for a bind to port 0 or an outgoing connection."""
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default where the setting cannot be read


def pickable_ports(environ: Mapping[str, str] = os.environ) -> range:
    """The ports free_ports draws from: SAGA_FREE_PORTS (LOW-HIGH, HIGH left out), else from
    LOWEST_PICKED_PORT up to the kernel's ephemeral range. ConfigError, naming the variable, for a
    range that is malformed, reaches into the ephemeral range or holds fewer than 500 ports."""
    ceiling = ephemeral_floor()
    text = environ.get(PORT_RANGE_VARIABLE, "").strip()
    if not text:
        low, high = LOWEST_PICKED_PORT, ceiling
    else:
        low_text, _, high_text = text.partition("-")
        if not (low_text.isdigit() and high_text.isdigit()):
            raise ConfigError(f"{PORT_RANGE_VARIABLE} must be LOW-HIGH, two port numbers, not {text!r}")
        low, high = int(low_text), int(high_text)
        if low < 1024 or high > ceiling:
            raise ConfigError(
                f"{PORT_RANGE_VARIABLE} must lie from 1024 to the ephemeral range's start, {ceiling}, not {text!r}"
            )
    if high - low < FEWEST_PICKABLE_PORTS:
        raise ConfigError(
            f"{low}-{high} holds fewer than {FEWEST_PICKABLE_PORTS} ports to pick from "
            f"(the ephemeral range starts at {ceiling}; {PORT_RANGE_VARIABLE} sets the range)"
        )
    return range(low, high)


def free_ports(count: int, *, avoid: Collection[int] = ()) -> list[int]:
    """Ports free right now, none of them in `avoid` and no two alike.

    They are drawn from below the kernel's ephemeral range (pickable_ports): a port the kernel gives to
    a bind to port 0 (the dev server picks its internal services' ports that way) or to an outgoing
    connection can never be one of these, so a stack cannot lose a port it was given to another
    process's random pick."""
    pickable = pickable_ports()
    picker = random.SystemRandom()
    found: list[int] = []
    for _ in range(count * 200):
        port = picker.choice(pickable)
        if port not in avoid and port not in found and port_is_free(port):
            found.append(port)
            if len(found) == count:
                return found
    raise ConfigError(
        f"found only {len(found)} of {count} free ports from {pickable.start} to {pickable.stop}"
    )

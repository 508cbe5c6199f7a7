"""The local stack runner: the Temporal dev server, the three Django services, order_svc's outbox
relay and the orchestrator worker, each in its own process group on 127.0.0.1, started in order,
probed until ready, restarted with backoff when one dies (once supervised) and stopped whole. It
launches and watches processes; it knows nothing of orders, stock or money.

- `config`: where it listens and keeps its files (StackConfig), ports, and its errors;
- `process`: one child process (ManagedProcess);
- `processes`: the system's processes as the stack runs them;
- `supervision`: restarts (Supervisor, RestartPolicy);
- `system`: the whole (Stack).
"""

from infra.stack.config import (
    ALL_SERVICES,
    BIN_DIR,
    DATABASE_URL_VARIABLES,
    HOST,
    NOTIFICATION_SERVICE,
    OPTIONAL_PORT_SETTINGS,
    PORT_SETTINGS,
    PUBLISHING_SERVICES,
    REPO_ROOT,
    SERVICES,
    ConfigError,
    OptionalPortField,
    OwnStackSettings,
    Placement,
    StackConfig,
    StackError,
    StackSettings,
    StartCancelled,
    free_ports,
    parse_port,
    port_is_free,
)
from infra.stack.deployment import Deployment, DeploymentError, DeploymentState
from infra.stack.process import ManagedProcess, group_alive, log_lines
from infra.stack.processes import (
    DEV_SERVER_DYNAMIC_CONFIG,
    answers_200,
    publisher_name,
    rollout_worker,
    temporal_server,
    worker_version,
)
from infra.stack.supervision import RestartPolicy, SupervisionEvent, Supervisor
from infra.stack.system import Stack

__all__ = [
    "ALL_SERVICES",
    "BIN_DIR",
    "DATABASE_URL_VARIABLES",
    "DEV_SERVER_DYNAMIC_CONFIG",
    "HOST",
    "NOTIFICATION_SERVICE",
    "OPTIONAL_PORT_SETTINGS",
    "PORT_SETTINGS",
    "PUBLISHING_SERVICES",
    "REPO_ROOT",
    "SERVICES",
    "ConfigError",
    "Deployment",
    "DeploymentError",
    "DeploymentState",
    "ManagedProcess",
    "OptionalPortField",
    "OwnStackSettings",
    "Placement",
    "RestartPolicy",
    "Stack",
    "StackConfig",
    "StackError",
    "StackSettings",
    "StartCancelled",
    "SupervisionEvent",
    "Supervisor",
    "answers_200",
    "free_ports",
    "group_alive",
    "log_lines",
    "parse_port",
    "port_is_free",
    "publisher_name",
    "rollout_worker",
    "temporal_server",
    "worker_version",
]

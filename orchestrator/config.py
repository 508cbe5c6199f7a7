"""Settings of the orchestrator worker, read from the environment in this one place.

Nothing else in the package reads os.environ; defaults fit the local stack (Temporal dev server and
the three services on 127.0.0.1).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from chassis.tokens import DEV_AUDIENCE, DEV_ISSUER, key_dir
from observability.tracing import TracingSettings, tracing_settings
from orchestrator.breakers import BreakerSettings
from orchestrator.versioning import checked_build_id, code_build_id
from saga_contract import DEFAULT_DEADLINE_SECONDS, DEFAULT_TEMPORAL_ADDRESS, NAMESPACE, TASK_QUEUE

_REPO_VAR_DIR = Path(__file__).resolve().parent.parent / "var"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class IdentitySettings:
    """Where the worker's service token comes from: the identity provider's token endpoint by
    OAuth2 client credentials when `token_url` is set (production), else the local key pair."""

    token_url: str | None
    client_id: str | None
    client_secret: str | None = field(repr=False)  # never in a log line or a dump of the settings
    scope: str | None
    local_key_dir: Path
    issuer: str
    audience: str


@dataclass(frozen=True)
class OrchestratorSettings:
    temporal_address: str
    temporal_namespace: str
    task_queue: str
    order_svc_url: str
    payment_svc_url: str
    inventory_svc_url: str
    notification_svc_url: str | None
    """notification_svc, for the scheduled audit's notifications check; None: not checked."""
    breakers: BreakerSettings
    identity: IdentitySettings
    metrics_address: str | None
    """host:port where the worker serves Prometheus metrics (Temporal SDK's and the saga's); None: off."""
    tracing: TracingSettings
    """Where spans go: an OTLP collector, or JSON lines in a folder."""
    build_id: str
    """This worker's version of the WORKER_DEPLOYMENT: SAGA_BUILD_ID, else derived from the code."""


def load_settings(environ: Mapping[str, str] = os.environ) -> OrchestratorSettings:
    token_url = environ.get("SAGA_TOKEN_URL") or None
    if token_url and not (environ.get("SAGA_CLIENT_ID") and environ.get("SAGA_CLIENT_SECRET")):
        raise ValueError("SAGA_TOKEN_URL needs SAGA_CLIENT_ID and SAGA_CLIENT_SECRET")
    if token_url and urlsplit(token_url).scheme != "https" and urlsplit(token_url).hostname not in _LOOPBACK:
        raise ValueError("SAGA_TOKEN_URL must be https:// (the client secret goes with every request)")
    var_dir = Path(environ.get("SAGA_VAR_DIR") or _REPO_VAR_DIR)
    return OrchestratorSettings(
        build_id=checked_build_id(environ.get("SAGA_BUILD_ID") or code_build_id()),
        metrics_address=environ.get("WORKER_METRICS_ADDRESS", "127.0.0.1:9464") or None,
        tracing=tracing_settings(environ, var_dir),
        temporal_address=environ.get("TEMPORAL_ADDRESS", DEFAULT_TEMPORAL_ADDRESS),
        temporal_namespace=environ.get("TEMPORAL_NAMESPACE", NAMESPACE),
        task_queue=environ.get("TEMPORAL_TASK_QUEUE", TASK_QUEUE),
        order_svc_url=environ.get("ORDER_SVC_URL", "http://127.0.0.1:8001"),
        payment_svc_url=environ.get("PAYMENT_SVC_URL", "http://127.0.0.1:8002"),
        inventory_svc_url=environ.get("INVENTORY_SVC_URL", "http://127.0.0.1:8003"),
        notification_svc_url=environ.get("NOTIFICATION_SVC_URL") or None,
        breakers=BreakerSettings(
            fail_max=int(environ.get("BREAKER_FAIL_MAX", "5")),
            reset_seconds=float(environ.get("BREAKER_RESET_SECONDS", "10")),
            redis_url=environ.get("BREAKER_REDIS_URL") or None,
        ),
        identity=IdentitySettings(
            token_url=token_url,
            client_id=environ.get("SAGA_CLIENT_ID") or None,
            client_secret=environ.get("SAGA_CLIENT_SECRET") or None,
            scope=environ.get("SAGA_TOKEN_SCOPE") or None,
            local_key_dir=key_dir(var_dir),
            issuer=environ.get("JWT_ISSUER") or DEV_ISSUER,
            audience=environ.get("JWT_AUDIENCE") or DEV_AUDIENCE,
        ),
    )


@dataclass(frozen=True)
class AuditSettings:
    """What the scheduled audit needs beyond the saga's settings: its own read-only identity, and the
    saga deadline it holds every order to (order_svc's ORDER_SAGA_DEADLINE_SECONDS)."""

    identity: IdentitySettings | None
    """The auditor's identity: its own client at the saga's token endpoint (SAGA_AUDITOR_CLIENT_ID,
    SAGA_AUDITOR_CLIENT_SECRET, SAGA_AUDITOR_TOKEN_SCOPE), or the local key without a token endpoint.
    None when the token endpoint is set but no auditor client is: the audit then refuses to run."""
    deadline_seconds: int


def load_audit_settings(environ: Mapping[str, str] = os.environ) -> AuditSettings:
    saga = load_settings(environ).identity
    client_id = environ.get("SAGA_AUDITOR_CLIENT_ID") or None
    client_secret = environ.get("SAGA_AUDITOR_CLIENT_SECRET") or None
    if bool(client_id) != bool(client_secret):
        raise ValueError("SAGA_AUDITOR_CLIENT_ID and SAGA_AUDITOR_CLIENT_SECRET go together")
    if client_id is not None and client_id == saga.client_id:
        raise ValueError(
            "SAGA_AUDITOR_CLIENT_ID must be a client of its own, not the saga's (SAGA_CLIENT_ID)"
        )
    deadline = environ.get("ORDER_SAGA_DEADLINE_SECONDS", str(DEFAULT_DEADLINE_SECONDS))
    if not deadline.isdigit() or int(deadline) < 1:
        raise ValueError(f"ORDER_SAGA_DEADLINE_SECONDS must be a whole number of seconds, not {deadline!r}")
    identity = None
    if saga.token_url is None or client_id is not None:
        identity = IdentitySettings(
            token_url=saga.token_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=environ.get("SAGA_AUDITOR_TOKEN_SCOPE") or None,
            local_key_dir=saga.local_key_dir,
            issuer=saga.issuer,
            audience=saga.audience,
        )
    return AuditSettings(identity=identity, deadline_seconds=int(deadline))

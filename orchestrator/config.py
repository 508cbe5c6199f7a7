"""Settings of the orchestrator worker, read from the environment in this one place.

Nothing else in the package reads os.environ; defaults fit the local stack (Temporal dev server and
the three services on 127.0.0.1).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from chassis.tokens import AUDITOR_SUBJECT, DEV_IDENTITY_URL, SAGA_SUBJECT, TOKEN_PATH
from observability.tracing import TracingSettings, tracing_settings
from orchestrator.breakers import BreakerSettings
from orchestrator.versioning import checked_build_id, code_build_id
from saga_contract import DEFAULT_DEADLINE_SECONDS, DEFAULT_TEMPORAL_ADDRESS, NAMESPACE, TASK_QUEUE

_REPO_VAR_DIR = Path(__file__).resolve().parent.parent / "var"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class IdentitySettings:
    """Where one of the worker's identities gets its tokens: OAuth2 client credentials at the
    identity provider's token endpoint (identity_svc's, in every mode)."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)  # never in a log line or a dump of the settings
    scope: str | None


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


def load_temporal_target(environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """(address, namespace) of the Temporal server: all that a deployment step needs of these settings."""
    return environ.get("TEMPORAL_ADDRESS", DEFAULT_TEMPORAL_ADDRESS), environ.get(
        "TEMPORAL_NAMESPACE", NAMESPACE
    )


def _service_url(environ: Mapping[str, str], name: str, default: str) -> str:
    return _checked_service_url(name, environ.get(name) or default)


def _optional_service_url(environ: Mapping[str, str], name: str) -> str | None:
    url = environ.get(name)
    return _checked_service_url(name, url) if url else None


def _checked_service_url(name: str, url: str) -> str:
    """A service's base URL: http(s), a host, and nothing a call could not carry (the saga's calls
    authenticate with their token, never with a user and password in the URL)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{name} must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.query or parts.fragment:
        raise ValueError(f"{name} must have no user, password, query or fragment")
    return url


def load_settings(environ: Mapping[str, str] = os.environ) -> OrchestratorSettings:
    token_url = environ.get("SAGA_TOKEN_URL") or DEV_IDENTITY_URL + TOKEN_PATH
    if not environ.get("SAGA_CLIENT_SECRET"):
        raise ValueError(
            "SAGA_CLIENT_SECRET is needed: the worker's secret at the token endpoint (SAGA_TOKEN_URL)"
        )
    if urlsplit(token_url).scheme != "https" and urlsplit(token_url).hostname not in _LOOPBACK:
        raise ValueError("SAGA_TOKEN_URL must be https:// (the client secret goes with every request)")
    var_dir = Path(environ.get("SAGA_VAR_DIR") or _REPO_VAR_DIR)
    temporal_address, temporal_namespace = load_temporal_target(environ)
    return OrchestratorSettings(
        build_id=checked_build_id(environ.get("SAGA_BUILD_ID") or code_build_id()),
        metrics_address=environ.get("WORKER_METRICS_ADDRESS", "127.0.0.1:9464") or None,
        tracing=tracing_settings(environ, var_dir),
        temporal_address=temporal_address,
        temporal_namespace=temporal_namespace,
        task_queue=environ.get("TEMPORAL_TASK_QUEUE", TASK_QUEUE),
        order_svc_url=_service_url(environ, "ORDER_SVC_URL", "http://127.0.0.1:8001"),
        payment_svc_url=_service_url(environ, "PAYMENT_SVC_URL", "http://127.0.0.1:8002"),
        inventory_svc_url=_service_url(environ, "INVENTORY_SVC_URL", "http://127.0.0.1:8003"),
        notification_svc_url=_optional_service_url(environ, "NOTIFICATION_SVC_URL"),
        breakers=BreakerSettings(
            fail_max=int(environ.get("BREAKER_FAIL_MAX") or BreakerSettings.fail_max),
            reset_seconds=float(environ.get("BREAKER_RESET_SECONDS") or BreakerSettings.reset_seconds),
            redis_url=environ.get("BREAKER_REDIS_URL") or None,
        ),
        identity=IdentitySettings(
            token_url=token_url,
            client_id=environ.get("SAGA_CLIENT_ID") or SAGA_SUBJECT,
            client_secret=environ["SAGA_CLIENT_SECRET"],
            scope=environ.get("SAGA_TOKEN_SCOPE") or None,
        ),
    )


@dataclass(frozen=True)
class AuditSettings:
    """What the scheduled audit needs beyond the saga's settings: its own read-only identity, and the
    saga deadline it holds every order to (order_svc's ORDER_SAGA_DEADLINE_SECONDS)."""

    identity: IdentitySettings | None
    """The auditor's identity: its own client at the saga's token endpoint (SAGA_AUDITOR_CLIENT_ID,
    SAGA_AUDITOR_CLIENT_SECRET, SAGA_AUDITOR_TOKEN_SCOPE). None without an auditor's secret: the audit
    then refuses to run."""
    deadline_seconds: int


def load_audit_settings(environ: Mapping[str, str] = os.environ) -> AuditSettings:
    saga = load_settings(environ).identity
    client_id = environ.get("SAGA_AUDITOR_CLIENT_ID") or AUDITOR_SUBJECT
    client_secret = environ.get("SAGA_AUDITOR_CLIENT_SECRET") or None
    if client_id == saga.client_id:
        raise ValueError(
            "SAGA_AUDITOR_CLIENT_ID must be a client of its own, not the saga's (SAGA_CLIENT_ID)"
        )
    deadline = environ.get("ORDER_SAGA_DEADLINE_SECONDS", str(DEFAULT_DEADLINE_SECONDS))
    if not deadline.isdigit() or int(deadline) < 1:
        raise ValueError(f"ORDER_SAGA_DEADLINE_SECONDS must be a whole number of seconds, not {deadline!r}")
    identity = None
    if client_secret is not None:
        identity = IdentitySettings(
            token_url=saga.token_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=environ.get("SAGA_AUDITOR_TOKEN_SCOPE") or None,
        )
    return AuditSettings(identity=identity, deadline_seconds=int(deadline))

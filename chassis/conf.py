"""The settings the chassis adds to Django's own, with their types.

`chassis.settings.service_settings` puts them into each service's settings module with
`globals().update(...)`, which a type checker cannot follow. `shared_settings` is Django's own
settings object seen through `SharedSettings`: reading it is the very lookup `django.conf.settings`
makes, so `override_settings` and pytest-django's `settings` fixture apply to it as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, cast

from django.conf import settings

from observability.tracing import TracingSettings


class SharedSettings(Protocol):
    """The settings `service_settings` adds to every service's; kept in step with that function."""

    DJANGO_ENV: str
    SERVICE_NAME: str
    LOG_SERVICE: str
    TRACING: TracingSettings
    PROMETHEUS_MULTIPROC_DIR: str | None
    VAR_DIR: Path
    CHAOS_ENABLED: bool
    SERVICE_URLCONF: str
    IDEMPOTENCY_LEASE_SECONDS: int
    IDEMPOTENCY_RETENTION_HOURS: int
    JWT_JWKS_URL: str | None
    JWT_JWKS_FILE: str | None
    JWT_ISSUER: str
    JWT_AUDIENCE: str
    JWT_ALGORITHMS: list[str]
    JWT_LEEWAY_SECONDS: int
    JWT_JWKS_CACHE_SECONDS: int
    JWT_JWKS_FETCH_TIMEOUT_SECONDS: float
    JWT_OPERATOR_ROLE: str
    JWT_SAGA_ROLE: str
    JWT_SAGA_SUBJECTS: list[str]
    JWT_AUDITOR_ROLE: str
    JWT_AUDITOR_SUBJECTS: list[str]
    THROTTLE_RATES: dict[str, str]
    THROTTLE_OPERATORS: bool
    EVENTS_BROKER_URL: str
    EVENTS_BROKER_FOLDER: Path
    EVENTS_POLL_SECONDS: float
    EVENTS_BATCH_SIZE: int
    EVENTS_CONFIRM_TIMEOUT_SECONDS: float
    EVENTS_BROKER_CONNECT_TIMEOUT_SECONDS: float
    EVENTS_BROKER_HEARTBEAT_SECONDS: int
    CORS_ALLOWED_ORIGINS: list[str]


shared_settings = cast(SharedSettings, settings)

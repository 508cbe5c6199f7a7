"""Settings every service shares, built from the environment in one place.

A service's `config/settings.py` calls `service_settings(...)` and adds only what
is its own. DJANGO_ENV is exactly `development`, `test` or `production`.
Development and test have marked defaults (identity_svc's JWKS on 127.0.0.1, throttle
counters in files under var/throttle); production refuses to start without real values
and never accepts a development default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from chassis.cors import cors_settings
from chassis.tokens import (
    ASYMMETRIC_ALGORITHMS,
    AUDITOR_SUBJECT,
    DEV_AUDIENCE,
    DEV_ISSUER,
    DEV_JWKS_URL,
    ROLE_AUDITOR,
    ROLE_OPERATOR,
    ROLE_SAGA,
    SAGA_SUBJECT,
)
from observability.logs import logging_config
from observability.tracing import tracing_settings

ENVIRONMENTS = ("development", "test", "production")

# Development only: never valid when DJANGO_ENV=production.
DEV_SECRET_KEY = "dev-insecure-key-do-not-use-in-production"
PRODUCTION_REQUIRED = (
    "SECRET_KEY",
    "DATABASE_URL",
    "ALLOWED_HOSTS",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "JWT_JWKS_URL",
    "JWT_SAGA_SUBJECTS",
    "JWT_AUDITOR_SUBJECTS",
    "REDIS_URL",
    "NUM_PROXIES",
    "EVENTS_BROKER_URL",
)

REPO_ROOT = Path(__file__).resolve().parent.parent

MIN_RETENTION_HOURS = 24
MAX_RETENTION_HOURS = 10 * 366 * 24
"""Ten years: the longest an idempotency record may be kept (a longer time cannot be subtracted from now)."""
"""The shortest life of an idempotency record: it must outlive every retry of its request. The saga
retries a step within its deadline (minutes), and a client retries within minutes too."""

DATABASE_CONNECT_TIMEOUT_SECONDS = 3
"""How long a service waits for PostgreSQL to accept a connection before it answers 503."""

ADMIN_PREFIX = "/admin/"
"""Where each service serves Django's admin: the only place with sessions (chassis.middleware)."""


def _database(name: str, environ: Mapping[str, str], var_dir: Path) -> dj_database_url.DBConfig:
    url = environ.get("DATABASE_URL")
    if url:
        # Django's own backends, without django-prometheus's per-statement wrappers: they cost about a
        # seventh of a saga command's CPU (docs/benchmarks.md), and statement counts are pinned by the
        # services' tests instead.
        db = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        # A server that does not answer (down behind a live address, a dropped network) fails a
        # request's connection within seconds instead of holding it until gunicorn gives up;
        # ?connect_timeout= in the URL wins.
        db.setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
        db.setdefault("TEST", {})["NAME"] = f"test_{name}_svc"
        return db
    var_dir.mkdir(parents=True, exist_ok=True)
    return {
        # Django's SQLite backend, its transactions queued on a kernel lock (chassis.db.sqlite3).
        "ENGINE": "chassis.db.sqlite3",
        "NAME": str(var_dir / f"{name}.sqlite3"),
        # Each server thread keeps its connection: opening one per request, and closing it again,
        # cost a third of a short request's time.
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            # IMMEDIATE takes the write lock when a transaction starts, so two
            # writers queue up instead of failing half-way with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def _api_docs(service: str, description: str, enum_names: dict[str, str]) -> dict[str, Any]:
    """drf-spectacular's settings: the schema and Swagger UI of chassis.schema, from local files."""
    return {
        "TITLE": service,
        "DESCRIPTION": description,
        "VERSION": "1",
        "SERVE_INCLUDE_SCHEMA": False,
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayRequestDuration": True},
        "COMPONENT_SPLIT_REQUEST": True,
        "ENUM_NAME_OVERRIDES": enum_names,
    }


def _chaos_enabled(environ: Mapping[str, str], production: bool) -> bool:
    """SAGA_CHAOS=1 switches fault injection on; production refuses it outright."""
    value = environ.get("SAGA_CHAOS", "0") or "0"
    if value not in ("0", "1"):
        raise ImproperlyConfigured(f"SAGA_CHAOS must be 0 or 1, not {value!r}")
    if value == "1" and production:
        raise ImproperlyConfigured("SAGA_CHAOS=1 (fault injection) is refused in production")
    return value == "1"


def _environment(environ: Mapping[str, str]) -> str:
    value = environ.get("DJANGO_ENV", "development")
    if value not in ENVIRONMENTS:
        raise ImproperlyConfigured(f"DJANGO_ENV must be one of {', '.join(ENVIRONMENTS)}, not {value!r}")
    return value


def _jwt(environ: Mapping[str, str]) -> dict[str, Any]:
    """Token verification: identity_svc's JWKS, issuer and audience (or another provider's, by settings
    alone). The local stack names its own; the defaults are those of identity_svc on its default port."""
    algorithms = [a.strip() for a in environ.get("JWT_ALGORITHMS", "RS256,EdDSA").split(",") if a.strip()]
    refused = sorted(set(algorithms) - ASYMMETRIC_ALGORITHMS)
    if refused or not algorithms:
        raise ImproperlyConfigured(
            f"JWT_ALGORITHMS takes asymmetric algorithms only ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}); "
            f"refused: {', '.join(refused) or 'an empty list'}"
        )
    try:
        leeway = int(environ.get("JWT_LEEWAY_SECONDS", "30"))
    except ValueError:
        leeway = -1
    if not 0 <= leeway <= 300:
        raise ImproperlyConfigured("JWT_LEEWAY_SECONDS must be a whole number of seconds from 0 to 300")
    roles = {
        variable: environ.get(variable) or default
        for variable, default in (
            ("JWT_OPERATOR_ROLE", ROLE_OPERATOR),
            ("JWT_SAGA_ROLE", ROLE_SAGA),
            ("JWT_AUDITOR_ROLE", ROLE_AUDITOR),
        )
    }
    if len(set(roles.values())) < len(roles):
        raise ImproperlyConfigured(f"the roles must have three different names: {roles}")
    return {
        "JWT_JWKS_URL": environ.get("JWT_JWKS_URL") or DEV_JWKS_URL,
        # A JWKS file instead of the URL: for the services' own test suites only (chassis.testing);
        # no environment variable sets it.
        "JWT_JWKS_FILE": None,
        "JWT_ISSUER": environ.get("JWT_ISSUER") or DEV_ISSUER,
        "JWT_AUDIENCE": environ.get("JWT_AUDIENCE") or DEV_AUDIENCE,
        "JWT_ALGORITHMS": algorithms,
        "JWT_LEEWAY_SECONDS": leeway,
        # How long the fetched key set is used before it is fetched again (a token naming an unknown
        # key fetches it at once, at most every JWKS_REFETCH_COOLDOWN_SECONDS), and how long a fetch
        # may take.
        "JWT_JWKS_CACHE_SECONDS": 300,
        "JWT_JWKS_FETCH_TIMEOUT_SECONDS": 5.0,
        # The auditor's role is read-only: the GETs the scheduled audit makes, nothing else
        # (chassis.permissions).
        **roles,
        # Subjects or client ids (`azp`, `client_id`) whose tokens may act as the saga.
        "JWT_SAGA_SUBJECTS": _names(environ.get("JWT_SAGA_SUBJECTS") or SAGA_SUBJECT),
        # Subjects or client ids whose tokens may act as the auditor.
        "JWT_AUDITOR_SUBJECTS": _names(environ.get("JWT_AUDITOR_SUBJECTS") or AUDITOR_SUBJECT),
    }


# Throttle counters kept in files (chassis.throttling.CounterFileCache) at most: one per caller counted
# in its period. Beyond it the expired counters go first, then a random third of the rest.
THROTTLE_FILE_MAX_ENTRIES = 5_000


def _throttle_counters(name: str, environ: Mapping[str, str], var_dir: Path) -> dict[str, Any]:
    """The cache that holds the throttle counters, shared by every process that serves the service.

    With REDIS_URL (which production requires) it is Redis, shared by every replica. Without it, the
    embedded default, it is a directory of files per service, <var>/throttle/<service>_svc, shared by
    every gunicorn worker on this host; it is created with mode 0700 when first used.
    """
    redis_url = environ.get("REDIS_URL")
    if redis_url:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    return {
        "BACKEND": "chassis.throttling.CounterFileCache",
        "LOCATION": str(var_dir / "throttle" / f"{name}_svc"),
        "OPTIONS": {"MAX_ENTRIES": THROTTLE_FILE_MAX_ENTRIES, "CULL_FREQUENCY": 3},
    }


def _throttling(name: str, environ: Mapping[str, str], var_dir: Path) -> dict[str, Any]:
    rates = {
        "requests": environ.get("THROTTLE_REQUESTS", "600/min"),
        "order_placements": environ.get("THROTTLE_ORDER_PLACEMENTS", "120/min"),
    }
    for scope, rate in rates.items():
        count, _, period = rate.partition("/")
        if not count.isdigit() or not period or period[0] not in "smhd":
            raise ImproperlyConfigured(f"THROTTLE_{scope.upper()} must look like 120/min, not {rate!r}")
    return {
        "THROTTLE_RATES": rates,
        "THROTTLE_OPERATORS": environ.get("THROTTLE_OPERATORS", "0") == "1",
        "CACHES": {"default": _throttle_counters(name, environ, var_dir)},
    }


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _retention_hours(environ: Mapping[str, str]) -> int:
    value = environ.get("IDEMPOTENCY_RETENTION_HOURS", "168")
    if not value.isdigit() or not MIN_RETENTION_HOURS <= int(value) <= MAX_RETENTION_HOURS:
        raise ImproperlyConfigured(
            f"IDEMPOTENCY_RETENTION_HOURS must be a whole number of hours from {MIN_RETENTION_HOURS} "
            f"to {MAX_RETENTION_HOURS}"
        )
    return int(value)


def _events(environ: Mapping[str, str], var_dir: Path, production: bool) -> dict[str, Any]:
    """Where the integration events go (chassis.events.broker): RabbitMQ by EVENTS_BROKER_URL, or kombu's
    filesystem transport under <var>/broker, which production refuses."""
    url = environ.get("EVENTS_BROKER_URL") or "filesystem://"
    if not url.startswith(("amqp://", "amqps://", "pyamqp://", "filesystem:")):
        raise ImproperlyConfigured(f"EVENTS_BROKER_URL must be an amqp:// URL or filesystem://, not {url!r}")
    if production and url.startswith("filesystem:"):
        raise ImproperlyConfigured(
            "EVENTS_BROKER_URL=filesystem:// (one machine, no server) is refused in production"
        )
    try:
        poll = float(environ.get("EVENTS_POLL_SECONDS", "5"))
    except ValueError:
        poll = 0.0
    if not 0.05 <= poll <= 300:
        raise ImproperlyConfigured("EVENTS_POLL_SECONDS must be a number of seconds from 0.05 to 300")
    return {
        "EVENTS_BROKER_URL": url,
        "EVENTS_BROKER_FOLDER": var_dir / "broker",
        # A publisher's idle look at its outbox; a recorded event wakes it at once (chassis.wakeups).
        "EVENTS_POLL_SECONDS": poll,
        "EVENTS_BATCH_SIZE": 100,
        "EVENTS_CONFIRM_TIMEOUT_SECONDS": 10.0,
        "EVENTS_BROKER_CONNECT_TIMEOUT_SECONDS": 5.0,
        # The AMQP heartbeat: a dead connection is noticed within about two of these.
        "EVENTS_BROKER_HEARTBEAT_SECONDS": 10,
    }


def _production_security(environ: Mapping[str, str]) -> dict[str, Any]:
    """TLS ends at the gateway, which sets X-Forwarded-Proto; the saga's internal calls and the
    probes stay plain HTTP inside the cluster, so they are exempt from the HTTPS redirect."""
    return {
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_SSL_REDIRECT": True,
        "SECURE_REDIRECT_EXEMPT": [r"^internal/", r"^healthz$", r"^readyz$", r"^metrics$"],
        "SECURE_HSTS_SECONDS": int(environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600))),
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": environ.get("SECURE_HSTS_PRELOAD", "1") == "1",
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
    }


def service_settings(
    *,
    name: str,
    base_dir: Path,
    apps: list[str],
    description: str = "",
    enum_names: dict[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Django settings of service `name` (e.g. "inventory") as a dict. `apps[0]` is the service's
    own app, whose `urls` module holds its routes; `description` opens its API documentation, and
    `enum_names` names the enumerations its schema shares (drf-spectacular's ENUM_NAME_OVERRIDES)."""
    environ = os.environ if environ is None else environ
    environment = _environment(environ)
    production = environment == "production"
    var_dir = Path(environ.get("SAGA_VAR_DIR", REPO_ROOT / "var"))
    secret_key = environ.get("SECRET_KEY", "" if production else DEV_SECRET_KEY)
    if production:
        missing = [var for var in PRODUCTION_REQUIRED if not environ.get(var)]
        if missing:
            raise ImproperlyConfigured(f"production settings need {', '.join(missing)}")
        if secret_key == DEV_SECRET_KEY:
            raise ImproperlyConfigured("the development SECRET_KEY is refused in production")
        if len(secret_key) < 50:  # a placeholder or a password, not a key (Django's own check wants 50)
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters in production")
        if environ["JWT_ISSUER"] == DEV_ISSUER:
            raise ImproperlyConfigured("the development JWT_ISSUER is refused in production")
        if not environ["JWT_JWKS_URL"].startswith("https://"):
            raise ImproperlyConfigured("JWT_JWKS_URL must be the identity provider's https:// JWKS URL")
    hosts = environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

    return {
        "BASE_DIR": base_dir,
        "DJANGO_ENV": environment,
        "SERVICE_NAME": name,
        "LOG_SERVICE": f"{name}_svc",
        "TRACING": tracing_settings(environ, var_dir),
        # Where gunicorn's processes share their metrics (prometheus_client's own variable), or None.
        "PROMETHEUS_MULTIPROC_DIR": environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
        **_jwt(environ),
        **_throttling(name, environ, var_dir),
        **_events(environ, var_dir, production),
        **(_production_security(environ) if production else {}),
        # Browsers may call the API from the exact origins SAGA_CORS_ORIGINS names, and from no other.
        **cors_settings(environ, production=production),
        "X_FRAME_OPTIONS": "DENY",
        "SESSION_COOKIE_PATH": ADMIN_PREFIX,
        "VAR_DIR": var_dir,
        "CHAOS_ENABLED": _chaos_enabled(environ, production),
        "SECRET_KEY": secret_key,
        "DEBUG": not production and environ.get("DJANGO_DEBUG") == "1",
        "ALLOWED_HOSTS": [h.strip() for h in hosts.split(",") if h.strip()],
        "INSTALLED_APPS": [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "rest_framework",
            "drf_spectacular",
            "drf_spectacular_sidecar",
            "django_prometheus",
            "corsheaders",
            "chassis.idempotency",
            "chassis.events",
            *apps,
        ],
        "MIDDLEWARE": [
            # Names the request's span (chassis.telemetry) after whatever answered it, any middleware too.
            "chassis.telemetry.SpanRouteMiddleware",
            "django_prometheus.middleware.PrometheusBeforeMiddleware",
            "chassis.middleware.RequestContextMiddleware",
            # Before anything that may answer by itself (a preflight is answered here), so that every
            # answer to an allowed origin, a refusal or an injected fault too, carries its CORS headers.
            "chassis.middleware.ExactOriginCorsMiddleware",
            "chassis.middleware.RequestBodyMiddleware",
            # Inside the log context (its lines carry the order's ids) and around the whole view,
            # idempotency transaction included, so a lost ack drops the reply of a committed effect.
            "chassis.faults.FaultInjectionMiddleware",
            "django.middleware.security.SecurityMiddleware",
            # Swagger UI's own files (drf-spectacular-sidecar), from the installed packages: no CDN.
            "whitenoise.middleware.WhiteNoiseMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            # Sessions, users and messages, for /admin/ alone: the API keeps no session.
            "chassis.middleware.AdminOnlyMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "django_prometheus.middleware.PrometheusAfterMiddleware",
        ],
        # The admin's checks look for its middleware in MIDDLEWARE; AdminOnlyMiddleware runs them there.
        "SILENCED_SYSTEM_CHECKS": ["admin.E408", "admin.E409", "admin.E410"],
        "ROOT_URLCONF": "chassis.urls",
        # The service's own routes: `urlpatterns` (api/v1/) and `internal_urlpatterns` (internal/v1/).
        "SERVICE_URLCONF": f"{apps[0]}.urls",
        "WSGI_APPLICATION": "config.wsgi.application",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        "DATABASES": {"default": _database(name, environ, var_dir)},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "STATIC_URL": "static/",
        "WHITENOISE_USE_FINDERS": True,  # served from the apps' static folders, no collectstatic step
        "WHITENOISE_ALLOW_ALL_ORIGINS": False,  # no `Access-Control-Allow-Origin: *` on any file
        "SPECTACULAR_SETTINGS": _api_docs(f"{name}_svc", description, enum_names or {}),
        "APPEND_SLASH": False,
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 64 * 1024,
        "REST_FRAMEWORK": {
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
            "DEFAULT_AUTHENTICATION_CLASSES": ["chassis.auth.JwtAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["chassis.permissions.DenyAll"],
            "DEFAULT_THROTTLE_CLASSES": ["chassis.throttling.RequestRateThrottle"],
            "UNAUTHENTICATED_USER": None,
            # Client addresses for anonymous throttling: REMOTE_ADDR unless NUM_PROXIES proxies stand in
            # front (the gateway: 1); X-Forwarded-For is never trusted beyond them.
            "NUM_PROXIES": int(environ.get("NUM_PROXIES", "0")),
            "EXCEPTION_HANDLER": "chassis.errors.exception_handler",
            "DEFAULT_SCHEMA_CLASS": "chassis.schema.ServiceAutoSchema",
        },
        "IDEMPOTENCY_LEASE_SECONDS": int(environ.get("IDEMPOTENCY_LEASE_SECONDS", "30")),
        # How long a keyed request's record is kept (`manage.py purge_idempotency_records` deletes older ones).
        "IDEMPOTENCY_RETENTION_HOURS": _retention_hours(environ),
        "LOGGING": logging_config(f"{name}_svc", environ.get("LOG_LEVEL", "INFO")),
    }

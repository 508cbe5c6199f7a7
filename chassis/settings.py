"""Settings every service shares, built from the environment in one place.

A service's `config/settings.py` calls `service_settings(...)` and adds only what
is its own. Development has marked defaults; production refuses to start
without real values.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from chassis.logging import logging_config

# Development only: never valid when DJANGO_ENV=production.
DEV_SECRET_KEY = "dev-insecure-key-do-not-use-in-production"

REPO_ROOT = Path(__file__).resolve().parent.parent


def _database(name: str, environ: os._Environ | dict, var_dir: Path) -> dict:
    url = environ.get("DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        db.setdefault("TEST", {})["NAME"] = f"test_{name}_svc"
        return db
    var_dir.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(var_dir / f"{name}.sqlite3"),
        "OPTIONS": {
            # IMMEDIATE takes the write lock when a transaction starts, so two
            # writers queue up instead of failing half-way with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def _chaos_enabled(environ: os._Environ | dict, production: bool) -> bool:
    """SAGA_CHAOS=1 switches fault injection on; production refuses it outright."""
    value = environ.get("SAGA_CHAOS", "0") or "0"
    if value not in ("0", "1"):
        raise ImproperlyConfigured(f"SAGA_CHAOS must be 0 or 1, not {value!r}")
    if value == "1" and production:
        raise ImproperlyConfigured("SAGA_CHAOS=1 (fault injection) is refused in production")
    return value == "1"


def service_settings(*, name: str, base_dir: Path, apps: list[str], environ=None) -> dict:
    """The Django settings of service `name` (e.g. "inventory") as a dict."""
    environ = os.environ if environ is None else environ
    production = environ.get("DJANGO_ENV", "development") == "production"
    var_dir = Path(environ.get("SAGA_VAR_DIR", REPO_ROOT / "var"))
    secret_key = environ.get("SECRET_KEY", "" if production else DEV_SECRET_KEY)
    if production:
        missing = [var for var in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS") if not environ.get(var)]
        if missing:
            raise ImproperlyConfigured(f"production settings need {', '.join(missing)}")
        if secret_key == DEV_SECRET_KEY:
            raise ImproperlyConfigured("the development SECRET_KEY is refused in production")
    hosts = environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

    return {
        "BASE_DIR": base_dir,
        "SERVICE_NAME": name,
        "PRODUCTION": production,
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
            "chassis.idempotency",
            *apps,
        ],
        "MIDDLEWARE": [
            "chassis.middleware.RequestContextMiddleware",
            "chassis.middleware.RequestBodyMiddleware",
            # Inside the log context (its lines carry the order's ids) and around the whole view,
            # idempotency transaction included, so a lost ack drops the reply of a committed effect.
            "chassis.faults.FaultInjectionMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        "ROOT_URLCONF": "config.urls",
        "WSGI_APPLICATION": "config.wsgi.application",
        "TEMPLATES": [{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]},
        }],
        "DATABASES": {"default": _database(name, environ, var_dir)},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "STATIC_URL": "static/",
        "APPEND_SLASH": False,
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 64 * 1024,
        "REST_FRAMEWORK": {
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
            "UNAUTHENTICATED_USER": None,
            "EXCEPTION_HANDLER": "chassis.errors.exception_handler",
        },
        "IDEMPOTENCY_LEASE_SECONDS": int(environ.get("IDEMPOTENCY_LEASE_SECONDS", "30")),
        "LOGGING": logging_config(f"{name}_svc", environ.get("LOG_LEVEL", "INFO")),
    }


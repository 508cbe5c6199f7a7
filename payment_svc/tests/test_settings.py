"""The sign-up credit as `manage.py` loads it in a fresh process: 500.00 in development and tests,
nothing in production, which refuses any other amount with one line; a value that is not a whole number
of cents is refused everywhere."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1]


def production(**overrides) -> dict:
    """A complete production environment; `NAME=None` leaves NAME out."""
    environ = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": "postgres://u:p@127.0.0.1:1/x",  # nothing listens: `check` must not connect
        "ALLOWED_HOSTS": "shop.example",
        "JWT_ISSUER": "https://idp.example/realms/shop",
        "JWT_AUDIENCE": "saga-orders",
        "JWT_JWKS_URL": "https://idp.example/jwks",
        "JWT_SAGA_SUBJECTS": "service-account-saga-worker",
        "JWT_AUDITOR_SUBJECTS": "service-account-saga-auditor",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "NUM_PROXIES": "1",
        "EVENTS_BROKER_URL": "amqp://saga:secret@rabbitmq.example:5672/shop",
        **overrides,
    }
    return {name: value for name, value in environ.items() if value is not None}


def manage(*args: str, environ: dict, var_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SERVICE,
        env={"PATH": os.environ["PATH"], "SAGA_VAR_DIR": str(var_dir), **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )


def signup_credit(environ: dict, var_dir: Path) -> int:
    code = "from django.conf import settings; print(settings.PAYMENT_SIGNUP_CREDIT_CENTS)"
    r = manage("shell", "--no-imports", "-c", code, environ=environ, var_dir=var_dir)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def test_development_and_tests_give_a_new_customer_500(tmp_path):
    assert signup_credit({}, tmp_path) == 50_000
    assert signup_credit({"DJANGO_ENV": "test"}, tmp_path) == 50_000
    assert signup_credit({"PAYMENT_SIGNUP_CREDIT_CENTS": "1200"}, tmp_path) == 1200


def test_production_gives_nothing(tmp_path):
    assert signup_credit(production(), tmp_path) == 0
    assert signup_credit(production(PAYMENT_SIGNUP_CREDIT_CENTS="0"), tmp_path) == 0


def test_production_refuses_a_signup_credit_with_one_line(tmp_path):
    r = manage("check", environ=production(PAYMENT_SIGNUP_CREDIT_CENTS="50000"), var_dir=tmp_path)
    assert r.returncode == 1
    assert r.stderr == (
        "payment_svc: PAYMENT_SIGNUP_CREDIT_CENTS must be 0 in production: "
        "an operator deposits a customer's money\n"
    )


@pytest.mark.parametrize("value", ["-5", "12.5", "lots", "1000000001"])
def test_a_signup_credit_that_is_not_a_whole_number_of_cents_is_refused(tmp_path, value):
    r = manage("check", environ={"PAYMENT_SIGNUP_CREDIT_CENTS": value}, var_dir=tmp_path)
    assert r.returncode == 1
    assert r.stderr == (
        "payment_svc: PAYMENT_SIGNUP_CREDIT_CENTS must be a whole number of cents from 0 to 1000000000, "
        f"not {value!r}\n"
    )

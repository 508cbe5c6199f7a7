"""The sign-up credit as `manage.py` loads it in a fresh process: 500.00 in development and tests,
nothing in production, which refuses any other amount with one line; a value that is not a whole number
of cents is refused everywhere."""

import subprocess
from pathlib import Path

import pytest

from chassis.testing import manage_py, production_environment

SERVICE = Path(__file__).resolve().parents[1]


def production(**overrides: str | None) -> dict[str, str]:
    return production_environment(**overrides)


def manage(*args: str, environ: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    return manage_py(SERVICE, *args, environ=environ, var_dir=var_dir)


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

"""The service's settings as `manage.py` loads them in a fresh process: email goes to files under the
var directory unless EMAIL_HOST names an SMTP server, production refuses to start without one, and
every value read from the environment is checked."""

import json
import subprocess
from pathlib import Path

import pytest

from chassis.testing import manage_py, production_environment

SERVICE = Path(__file__).resolve().parents[1]
SHOWN = ["EMAIL_BACKEND", "EMAIL_FILE_PATH", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_TIMEOUT",
         "DEFAULT_FROM_EMAIL", "NOTIFICATION_RECIPIENT_DOMAIN", "NOTIFICATION_RETRY_FIRST_SECONDS",
         "NOTIFICATION_RETRY_MAX_SECONDS"]  # fmt: skip


def production(**overrides: str | None) -> dict[str, str]:
    """A complete production environment, SMTP included; `NAME=None` leaves NAME out."""
    return production_environment(**{"EMAIL_HOST": "smtp.shop.example", **overrides})


def manage(*args: str, environ: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    return manage_py(SERVICE, *args, environ=environ, var_dir=var_dir)


def loaded(environ: dict, var_dir: Path) -> dict:
    """The email and sender settings the service loads from `environ`."""
    shown = f"{{name: str(getattr(settings, name, None)) for name in {SHOWN!r}}}"
    code = f"import json; from django.conf import settings; print(json.dumps({shown}))"
    r = manage("shell", "--no-imports", "-c", code, environ=environ, var_dir=var_dir)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_production_refuses_to_start_without_an_smtp_server(tmp_path):
    r = manage("check", environ=production(EMAIL_HOST=None), var_dir=tmp_path)
    assert r.returncode == 1
    assert r.stderr == "notification_svc: production settings need EMAIL_HOST\n"


def test_production_settings_with_smtp_pass_the_deployment_checks(tmp_path):
    r = manage("check", "--deploy", "--fail-level", "WARNING", environ=production(), var_dir=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_embedded_default_writes_email_to_files_under_the_var_directory(tmp_path):
    assert loaded({}, tmp_path) == {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "EMAIL_HOST": "",
        "EMAIL_PORT": "25",  # Django's own default, unused by the file backend
        "EMAIL_USE_TLS": "False",
        "EMAIL_TIMEOUT": "None",
        "DEFAULT_FROM_EMAIL": "orders@shop.invalid",
        "NOTIFICATION_RECIPIENT_DOMAIN": "customers.invalid",
        "NOTIFICATION_RETRY_FIRST_SECONDS": "1.0",
        "NOTIFICATION_RETRY_MAX_SECONDS": "60.0",
    }


def test_with_email_host_email_goes_over_smtp(tmp_path):
    environ = {
        "EMAIL_HOST": "smtp.shop.example",
        "EMAIL_PORT": "587",
        "EMAIL_USE_TLS": "1",
        "NOTIFICATION_FROM": "orders@shop.example",
        "NOTIFICATION_RECIPIENT_DOMAIN": "mail.shop.example",
        "NOTIFICATION_RETRY_FIRST_SECONDS": "0.5",
        "NOTIFICATION_RETRY_MAX_SECONDS": "300",
    }
    shown = loaded(environ, tmp_path)
    assert shown["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (shown["EMAIL_HOST"], shown["EMAIL_PORT"], shown["EMAIL_USE_TLS"]) == (
        "smtp.shop.example",
        "587",
        "True",
    )
    assert shown["EMAIL_TIMEOUT"] == "10"
    assert shown["DEFAULT_FROM_EMAIL"] == "orders@shop.example"
    assert shown["NOTIFICATION_RECIPIENT_DOMAIN"] == "mail.shop.example"
    assert (shown["NOTIFICATION_RETRY_FIRST_SECONDS"], shown["NOTIFICATION_RETRY_MAX_SECONDS"]) == (
        "0.5",
        "300.0",
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"EMAIL_HOST": "smtp.example", "EMAIL_PORT": "smtp"}, "EMAIL_PORT must be a TCP port, not 'smtp'"),
        ({"EMAIL_HOST": "smtp.example", "EMAIL_USE_TLS": "yes"}, "EMAIL_USE_TLS must be 0 or 1, not 'yes'"),
        ({"NOTIFICATION_RETRY_FIRST_SECONDS": "0"}, "NOTIFICATION_RETRY_FIRST_SECONDS must be"),
        ({"NOTIFICATION_RETRY_MAX_SECONDS": "soon"}, "NOTIFICATION_RETRY_MAX_SECONDS must be"),
        (
            {"NOTIFICATION_RETRY_FIRST_SECONDS": "10", "NOTIFICATION_RETRY_MAX_SECONDS": "5"},
            "NOTIFICATION_RETRY_MAX_SECONDS must not be below",
        ),
        (
            {"EMAIL_HOST": "smtp.example", "NOTIFICATION_LEASE_SECONDS": "20"},
            "NOTIFICATION_LEASE_SECONDS must",
        ),
        ({"NOTIFICATION_RECIPIENT_DOMAIN": "x>@evil"}, "NOTIFICATION_RECIPIENT_DOMAIN must be a domain name"),
    ],
)
def test_a_bad_value_stops_manage_py_with_one_line_that_names_it(tmp_path, environ, named):
    r = manage("check", environ=environ, var_dir=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith(f"notification_svc: {named}")
    assert r.stderr.count("\n") == 1

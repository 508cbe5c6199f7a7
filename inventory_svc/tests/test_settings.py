"""Production settings of all three services, as `manage.py` loads them in a fresh process: with every
required variable set they pass Django's deployment checks without a warning; a wrong DJANGO_ENV or a
missing or plain-HTTP JWKS URL stops the process with one line that names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from chassis.conf import SharedSettings
from chassis.settings import DEV_SECRET_KEY, PRODUCTION_REQUIRED, service_settings
from chassis.testing import manage_py, production_environment

REPO = Path(__file__).resolve().parents[2]
SERVICES = ["inventory_svc", "payment_svc", "order_svc"]


def production(**overrides: str | None) -> dict[str, str]:
    return production_environment(**overrides)


def manage(
    service: str, *args: str, environ: dict[str, str], var_dir: Path
) -> subprocess.CompletedProcess[str]:
    """`manage.py <args>` of `service` in a process that sees `environ` and nothing of this one's."""
    return manage_py(REPO / service, *args, environ=environ, var_dir=var_dir)


@pytest.mark.parametrize("service", SERVICES)
def test_production_settings_pass_the_deployment_checks(service, tmp_path):
    r = manage(
        service, "check", "--deploy", "--fail-level", "WARNING", environ=production(), var_dir=tmp_path
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "System check identified no issues" in r.stdout


@pytest.mark.parametrize("service", SERVICES)
def test_an_unknown_django_env_stops_manage_py_with_one_line(service, tmp_path):
    r = manage(service, "check", environ={"DJANGO_ENV": "staging"}, var_dir=tmp_path)
    assert r.returncode == 1
    assert r.stderr == (
        f"{service}: DJANGO_ENV must be one of development, test, production, not 'staging'\n"
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"JWT_JWKS_URL": None}, "production settings need JWT_JWKS_URL"),
        (
            {"JWT_JWKS_URL": "http://idp.example/jwks"},
            "JWT_JWKS_URL must be the identity provider's https:// JWKS URL",
        ),
    ],
    ids=["missing", "plain-http"],
)
def test_production_refuses_to_start_without_an_https_jwks_url(tmp_path, overrides, named):
    r = manage("inventory_svc", "check", environ=production(**overrides), var_dir=tmp_path)
    assert r.returncode == 1
    assert r.stderr == f"inventory_svc: {named}\n"


@pytest.mark.parametrize("missing", PRODUCTION_REQUIRED)
def test_production_names_every_missing_variable(tmp_path, missing):
    with pytest.raises(ImproperlyConfigured, match=f"^production settings need {missing}$"):
        service_settings(
            name="inventory", base_dir=tmp_path, apps=["inventory"], environ=production(**{missing: None})
        )


def test_production_refuses_the_development_secret_key(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="development SECRET_KEY"):
        service_settings(
            name="inventory",
            base_dir=tmp_path,
            apps=["inventory"],
            environ=production(SECRET_KEY=DEV_SECRET_KEY),
        )


@pytest.mark.parametrize("placeholder", ["REPLACE-ME", "changeme", "x" * 49])
def test_production_refuses_a_secret_key_that_is_a_placeholder(tmp_path, placeholder):
    with pytest.raises(ImproperlyConfigured, match="at least 50 random characters"):
        service_settings(
            name="inventory",
            base_dir=tmp_path,
            apps=["inventory"],
            environ=production(SECRET_KEY=placeholder),
        )


def test_what_gunicorn_serves_is_production_unless_told_otherwise(tmp_path):
    """A deployment that forgets DJANGO_ENV does not start on development defaults: the WSGI entry
    point defaults to production, whose settings refuse to start without their values."""
    done = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=REPO / "inventory_svc",
        env={"PATH": os.environ["PATH"], "SAGA_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "production settings need SECRET_KEY" in done.stderr


def test_every_setting_the_chassis_declares_for_the_type_checker_is_one_service_settings_makes(tmp_path):
    made = service_settings(
        name="inventory", base_dir=tmp_path, apps=["inventory"], environ={"SAGA_VAR_DIR": str(tmp_path)}
    )
    assert set(SharedSettings.__annotations__) <= set(made), set(SharedSettings.__annotations__) - set(made)

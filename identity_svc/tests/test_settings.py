"""The provider's settings as `manage.py` loads them in a fresh process, and what production refuses:
the development token path, an issuer that is not https, development clients and http:// redirect
URIs. Each refusal stops the process with one line that names it."""

import io
import subprocess
from pathlib import Path

import pytest
from accounts.checks import refusals_of, refuse_unsafe_clients
from accounts.models import Client
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from chassis.testing import manage_py, production_environment

SERVICE = Path(__file__).resolve().parents[1]


def production(**overrides: str | None) -> dict[str, str]:
    """A complete production environment for identity_svc; `NAME=None` leaves NAME out."""
    own = {
        "ALLOWED_HOSTS": "id.shop.example",
        "JWT_ISSUER": "https://id.shop.example",
        "JWT_JWKS_URL": "https://id.shop.example/.well-known/jwks.json",
        "JWT_SAGA_SUBJECTS": "saga-orchestrator",
        "JWT_AUDITOR_SUBJECTS": "saga-auditor",
        "IDENTITY_ISSUER": "https://id.shop.example",
        "IDENTITY_AUDIENCE": "saga-orders",
    }
    return production_environment(**{**own, **overrides})


def manage(*args: str, environ: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    return manage_py(SERVICE, *args, environ=environ, var_dir=var_dir)


def test_a_complete_production_environment_passes_the_deployment_checks(tmp_path):
    r = manage("check", "--deploy", "--fail-level", "WARNING", environ=production(), var_dir=tmp_path)

    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            {"IDENTITY_DEV_TOKEN_SECRET": "a-development-secret"},
            "IDENTITY_DEV_TOKEN_SECRET (the development token path) is refused in production",
        ),
        (
            {"IDENTITY_ISSUER": "http://id.shop.example"},
            "IDENTITY_ISSUER must be the provider's public https:// address in production",
        ),
        (
            {"IDENTITY_ISSUER": None},
            "IDENTITY_ISSUER must be the provider's public https:// address in production",
        ),
        ({"IDENTITY_AUDIENCE": None}, "production settings need IDENTITY_AUDIENCE"),
    ],
    ids=["dev-token-secret", "http-issuer", "no-issuer", "no-audience"],
)
def test_production_refuses_to_start_with_one_line(tmp_path, overrides, line):
    r = manage("check", environ=production(**overrides), var_dir=tmp_path)

    assert r.returncode == 1
    assert r.stderr == f"identity_svc: {line}\n"


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        (
            {"IDENTITY_LOCKOUT_FAILURES": "0"},
            "IDENTITY_LOCKOUT_FAILURES must be a whole number of failed sign-ins from 1 to 100",
        ),
        (
            {"IDENTITY_ACCESS_TOKEN_SECONDS": "86400"},
            "IDENTITY_ACCESS_TOKEN_SECONDS must be a whole number of seconds from 60 to 3600",
        ),
        (
            {"IDENTITY_SIGN_IN_RATE": "lots"},
            "IDENTITY_SIGN_IN_RATE must look like 20/m (per s, 10s, m or h), not 'lots'",
        ),
    ],
    ids=["lockout-failures", "access-token-life", "sign-in-rate"],
)
def test_a_bad_value_stops_manage_py_with_one_line_that_names_it(tmp_path, environ, line):
    r = manage("check", environ=environ, var_dir=tmp_path)

    assert r.returncode == 1
    assert r.stderr == f"identity_svc: {line}\n"


def test_the_lock_out_and_the_token_lives_follow_the_environment(tmp_path):
    environ = {
        "IDENTITY_LOCKOUT_FAILURES": "3",
        "IDENTITY_LOCKOUT_SECONDS": "60",
        "IDENTITY_ACCESS_TOKEN_SECONDS": "300",
        "IDENTITY_SIGN_IN_RATE": "5/10s",
    }
    code = (
        "from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), "
        "s.OAUTH2_PROVIDER['ACCESS_TOKEN_EXPIRE_SECONDS'], s.IDENTITY_RATES['sign_in_per_address'])"
    )

    r = manage("shell", "--no-imports", "-c", code, environ=environ, var_dir=tmp_path)

    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["3", "60", "300", "5/10s"]


@pytest.fixture
def in_production(settings):
    settings.IDENTITY_PRODUCTION = True


def test_production_refuses_a_development_client(in_production):
    client = Client(client_id="sagactl", development=True, redirect_uris="")

    assert refusals_of(client) == ["client sagactl is a development client, refused in production"]


def test_production_refuses_an_http_redirect_uri(in_production):
    client = Client(
        client_id="shop", redirect_uris="https://shop.example/callback http://shop.example/callback"
    )

    assert refusals_of(client) == [
        "client shop redirects to http://shop.example/callback: production needs https:// redirect URIs"
    ]


def test_production_takes_a_client_with_https_redirect_uris_only(in_production):
    assert refusals_of(Client(client_id="shop", redirect_uris="https://shop.example/callback")) == []


def test_outside_production_nothing_is_refused():
    client = Client(client_id="shop", development=True, redirect_uris="http://127.0.0.1:5173/callback")

    assert refusals_of(client) == []


@pytest.mark.django_db
def test_production_will_not_serve_with_a_development_client_registered(settings):
    call_command(
        "ensure_client",
        "sagactl",
        "--browser",
        "--development",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        stdout=io.StringIO(),
    )
    settings.IDENTITY_PRODUCTION = True

    with pytest.raises(ImproperlyConfigured, match="client sagactl is a development client"):
        refuse_unsafe_clients()


@pytest.mark.django_db
def test_ensure_client_in_production_refuses_an_http_redirect_uri_and_registers_nothing(in_production):
    with pytest.raises(CommandError, match="production needs https:// redirect URIs"):
        call_command("ensure_client", "shop", "--browser", "--redirect-uri", "http://shop.example/callback")

    assert not Client.objects.exists()

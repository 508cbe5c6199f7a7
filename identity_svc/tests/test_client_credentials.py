"""Services sign in as themselves: `ensure_client --service` registers a confidential client whose
secret comes from the environment, and its tokens name the client as subject and carry its roles."""

import io
import json

import pytest
from accounts.models import Client
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_access_token_model

from tests.oidc import (
    SAGA,
    SAGA_SECRET,
    SAGA_SECRET_ENV,
    SHOP,
    Pkce,
    authorize,
    client_token,
    published_jwks,
    token,
    verified_claims,
)

AccessToken = get_access_token_model()

pytestmark = pytest.mark.usefixtures("saga_client")


def test_the_saga_signs_in_as_itself_with_the_saga_role(client):
    answer = client_token(client)

    assert answer.status_code == 200, answer.content
    assert "refresh_token" not in answer.json()
    claims = verified_claims(answer.json()["access_token"], published_jwks(client))
    assert (claims["sub"], claims["client_id"], claims["roles"]) == (SAGA, SAGA, ["saga"])


def test_the_secret_may_come_in_the_body_too(client):
    answer = token(client, grant_type="client_credentials", client_id=SAGA, client_secret=SAGA_SECRET)

    assert answer.status_code == 200, answer.content


def test_a_wrong_secret_is_invalid_client_and_gets_no_token(client):
    refused = client_token(client, secret=SAGA_SECRET + "x")

    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert not AccessToken.objects.exists()


def test_an_unknown_client_is_invalid_client(client):
    refused = client_token(client, client_id="saga-auditor")

    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")


@pytest.mark.parametrize("scope", ["operator", "saga"])
def test_a_role_asked_for_as_a_scope_is_invalid_scope_and_gets_no_token(client, scope):
    refused = client_token(client, scope=scope)

    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")
    assert not AccessToken.objects.exists()


def test_userinfo_names_a_service_as_its_token_does(client):
    access_token = client_token(client, scope="openid profile").json()["access_token"]

    response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")

    assert response.status_code == 200
    assert response.json() == {"sub": SAGA, "roles": ["saga"]}


def test_the_secret_is_stored_hashed(client):
    stored = Client.objects.get(client_id=SAGA).client_secret

    assert SAGA_SECRET not in stored


def test_the_browser_client_cannot_sign_in_as_itself(client, shop):
    refused = token(client, grant_type="client_credentials", client_id=SHOP)

    assert (refused.status_code, refused.json()["error"]) == (400, "unauthorized_client")
    assert not AccessToken.objects.exists()


def test_a_service_client_cannot_ask_for_a_user_s_code(alices_browser):
    response = authorize(alices_browser.client, Pkce(), client_id=SAGA)

    assert response.status_code == 400
    assert "Location" not in response


def test_ensure_client_again_with_a_new_secret_replaces_the_old_one(client, monkeypatch):
    monkeypatch.setenv(SAGA_SECRET_ENV, "another-secret-0123456789-abcdefghijkl")

    call_command(
        "ensure_client",
        SAGA,
        "--service",
        "--role",
        "saga",
        "--secret-env",
        SAGA_SECRET_ENV,
        stdout=io.StringIO(),
    )

    assert Client.objects.filter(client_id=SAGA).count() == 1
    assert client_token(client).status_code == 401
    assert client_token(client, secret="another-secret-0123456789-abcdefghijkl").status_code == 200


def test_a_service_client_needs_a_secret_of_32_characters(monkeypatch):
    monkeypatch.setenv("SHORT_SECRET", "x" * 31)

    with pytest.raises(CommandError, match="32 characters"):
        call_command(
            "ensure_client", "saga-auditor", "--service", "--role", "auditor", "--secret-env", "SHORT_SECRET"
        )
    assert not Client.objects.filter(client_id="saga-auditor").exists()


def test_token_requests_over_the_rate_of_a_client_are_answered_429(settings, client):
    settings.IDENTITY_RATES = {**settings.IDENTITY_RATES, "token_per_client": "2/h"}
    client_token(client)
    client_token(client)

    throttled = client_token(client, address="10.0.0.9")

    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "60"
    assert throttled.json()["code"] == "throttled"
    assert AccessToken.objects.count() == 2


def test_token_requests_over_the_rate_of_an_address_are_answered_429(settings, client):
    settings.IDENTITY_RATES = {**settings.IDENTITY_RATES, "token_per_address": "2/h"}
    client_token(client, client_id="someone", address="10.0.0.1")
    client_token(client, client_id="someone-else", address="10.0.0.1")

    throttled = client_token(client, address="10.0.0.1")
    elsewhere = client_token(client, address="10.0.0.2")

    assert throttled.status_code == 429
    assert elsewhere.status_code == 200


def test_ensure_clients_registers_each_client_as_ensure_client_would_in_one_command(client, monkeypatch):
    monkeypatch.setenv("AUDITOR_SECRET", "auditor-secret-0123456789-abcdefghij")
    out = io.StringIO()

    call_command(
        "ensure_clients",
        json.dumps(["saga-auditor", "--service", "--role", "auditor", "--secret-env", "AUDITOR_SECRET"]),
        json.dumps(["other-shop", "--browser", "--redirect-uri", "https://shop.example/"]),
        stdout=out,
    )

    assert out.getvalue().splitlines() == ["client saga-auditor ready", "client other-shop ready"]
    auditor = Client.objects.get(client_id="saga-auditor")
    assert (auditor.roles, auditor.client_type) == (["auditor"], Client.CLIENT_CONFIDENTIAL)
    shop = Client.objects.get(client_id="other-shop")
    assert (shop.client_type, shop.redirect_uris) == (Client.CLIENT_PUBLIC, "https://shop.example/")
    answer = client_token(client, client_id="saga-auditor", secret="auditor-secret-0123456789-abcdefghij")
    assert answer.status_code == 200, answer.content


@pytest.mark.parametrize(
    "arguments",
    [
        '{"client_id": "other-shop"}',  # not an array
        '["other-shop", 3]',  # not all strings
        "other-shop --browser",  # not JSON
    ],
)
def test_ensure_clients_refuses_what_is_not_an_array_of_arguments(arguments):
    with pytest.raises(CommandError, match="not a JSON array of arguments"):
        call_command("ensure_clients", arguments)
    assert not Client.objects.filter(client_id="other-shop").exists()


def test_ensure_clients_stops_at_the_first_client_refused_with_its_reason(monkeypatch):
    monkeypatch.setenv("SHORT_SECRET", "x" * 31)

    with pytest.raises(CommandError, match="32 characters"):
        call_command(
            "ensure_clients",
            json.dumps(["saga-auditor", "--service", "--role", "auditor", "--secret-env", "SHORT_SECRET"]),
            json.dumps(["other-shop", "--browser", "--redirect-uri", "https://shop.example/"]),
            stdout=io.StringIO(),
        )
    assert not Client.objects.filter(client_id__in=["saga-auditor", "other-shop"]).exists()

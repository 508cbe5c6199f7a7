"""The development token path, POST /dev/v1/tokens: it exists only when IDENTITY_DEV_TOKEN_SECRET
is set (config.urls adds the route at import), signs only for whoever shows that secret, and grants
no role but operator, saga and auditor."""

import importlib
from contextlib import contextmanager

import jwt
import pytest
from django.test import override_settings
from django.urls import clear_url_caches

from chassis.testing import ApiClient, assert_error
from chassis.tokens import MAX_TTL_SECONDS
from tests.oidc import published_jwks, verified_claims

pytestmark = pytest.mark.django_db

TOKENS = "/dev/v1/tokens"
SECRET = "a-development-secret"


@contextmanager
def dev_token_secret(secret: str):
    """The URL map as config.urls builds it with IDENTITY_DEV_TOKEN_SECRET = `secret`, and as it
    was once the block ends."""
    try:
        with override_settings(IDENTITY_DEV_TOKEN_SECRET=secret):
            rebuild_urls()
            yield
    finally:
        rebuild_urls()


def rebuild_urls() -> None:
    """Run config.urls again, as a process starting with the current settings would."""
    import config.urls

    importlib.reload(config.urls)
    clear_url_caches()


@pytest.fixture
def dev_path(signing_key):
    """A client of the token path, switched on with SECRET."""
    with dev_token_secret(SECRET):
        yield ApiClient()


def ask(client: ApiClient, body: dict, secret: str | None = SECRET):
    headers = {} if secret is None else {"X-Dev-Token-Secret": secret}
    return client.post(TOKENS, body, key="", **headers)


def test_without_the_secret_set_the_path_does_not_exist():
    with dev_token_secret(""):
        response = ask(ApiClient(), {"subject": "alice"})

    assert_error(response, 404, "not_found")


def test_without_the_secret_header_it_is_401(dev_path):
    assert_error(ask(dev_path, {"subject": "alice"}, secret=None), 401, "not_authenticated")


def test_with_a_wrong_secret_it_is_401(dev_path):
    assert_error(ask(dev_path, {"subject": "alice"}, secret=SECRET + "x"), 401, "not_authenticated")


def test_with_the_secret_it_signs_a_token_the_jwks_verifies(dev_path, client):
    response = ask(dev_path, {"subject": "alice", "roles": ["operator"], "ttl_seconds": 600})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 600)
    claims = verified_claims(body["access_token"], published_jwks(client))
    assert (claims["sub"], claims["roles"], claims["client_id"]) == ("alice", ["operator"], "sagactl")
    assert claims["exp"] - claims["iat"] == 600


@pytest.mark.parametrize("roles", [["saga"], ["auditor"], ["operator", "saga", "auditor"], []])
def test_it_grants_operator_saga_and_auditor(dev_path, client, roles):
    response = ask(dev_path, {"subject": "alice", "roles": roles})

    assert response.status_code == 201, response.content
    assert verified_claims(response.json()["access_token"], published_jwks(client))["roles"] == sorted(roles)


@pytest.mark.parametrize("roles", [["admin"], ["customer"], ["operator", "superuser"]])
def test_it_grants_no_other_role(dev_path, roles):
    assert_error(ask(dev_path, {"subject": "alice", "roles": roles}), 400, "validation_error")


@pytest.mark.parametrize("subject", ["alice smith", "<script>", "alice/../bob", "", "a" * 65])
def test_the_subject_must_be_a_customer_id_as_a_whole(dev_path, subject):
    assert_error(ask(dev_path, {"subject": subject}), 400, "validation_error")


def test_an_aged_token_is_issued_that_long_ago_and_may_have_expired(dev_path, client):
    response = ask(dev_path, {"subject": "alice", "ttl_seconds": 60, "age_seconds": 120})

    assert response.status_code == 201, response.content
    with pytest.raises(jwt.ExpiredSignatureError):
        verified_claims(response.json()["access_token"], published_jwks(client))


def test_a_token_may_live_a_week_at_most(dev_path):
    assert_error(
        ask(dev_path, {"subject": "alice", "ttl_seconds": MAX_TTL_SECONDS + 1}), 400, "validation_error"
    )

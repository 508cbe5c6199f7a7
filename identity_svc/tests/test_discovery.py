"""What the provider publishes for its relying parties: the OpenID Connect discovery document, and
the JWKS with the public half of every key that may have signed a live token."""

import pytest
from accounts.keys import current_key
from accounts.models import SigningKey
from django.conf import settings

from tests.oidc import DISCOVERY, JWKS

pytestmark = pytest.mark.django_db


@pytest.fixture
def discovery(client):
    response = client.get(DISCOVERY)
    assert response.status_code == 200
    return response.json()


def test_the_issuer_is_the_configured_one(discovery):
    assert discovery["issuer"] == settings.IDENTITY_ISSUER


def test_the_endpoints_are_under_the_issuer(discovery):
    issuer = settings.IDENTITY_ISSUER
    assert discovery["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert discovery["authorization_endpoint"] == f"{issuer}/oauth/authorize"
    assert discovery["token_endpoint"] == f"{issuer}/oauth/token"
    assert discovery["revocation_endpoint"] == f"{issuer}/oauth/revoke"
    assert discovery["userinfo_endpoint"] == f"{issuer}/oauth/userinfo"


def test_pkce_is_s256_only(discovery):
    assert discovery["code_challenge_methods_supported"] == ["S256"]


def test_the_grants_are_code_refresh_and_client_credentials_only(discovery):
    assert discovery["grant_types_supported"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert discovery["response_types_supported"] == ["code"]


def test_id_tokens_are_named_as_signed_with_rs256_only(discovery):
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]


def test_a_browser_app_on_another_origin_may_read_the_document(client):
    assert client.get(DISCOVERY)["Access-Control-Allow-Origin"] == "*"


def test_the_jwks_lists_the_current_key_and_no_private_part(client, signing_key):
    key = current_key()

    response = client.get(JWKS)

    assert response.status_code == 200
    [published] = response.json()["keys"]
    assert published["kid"] == key.kid
    assert (published["kty"], published["alg"], published["use"]) == ("RSA", "RS256", "sig")
    assert set(published) == {"kid", "kty", "alg", "use", "n", "e"}


def test_the_first_jwks_request_makes_the_first_key(client):
    assert not SigningKey.objects.exists()

    [published] = client.get(JWKS).json()["keys"]

    assert list(SigningKey.objects.values_list("kid", flat=True)) == [published["kid"]]


def test_the_jwks_may_be_cached_for_five_minutes_by_anyone(client, signing_key):
    response = client.get(JWKS)

    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Access-Control-Allow-Origin"] == "*"

"""The authorization-code flow with PKCE, as the shop runs it in a browser: a signed-in user gets a
code, the shop trades it for an RS256 access token (RFC 9068) that verifies against the JWKS, and
every way of bending the flow is refused without a token."""

import io
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.conf import settings
from django.core.management import call_command
from oauth2_provider.models import get_access_token_model

from tests.browser import SIGN_IN
from tests.factories import PASSWORD, operator_create
from tests.oidc import (
    ACCESS_TOKEN_CLAIMS,
    REDIRECT_URI,
    SHOP,
    Pkce,
    authorize,
    code_of,
    exchange,
    published_jwks,
    redirect_query,
    sign_in_with_code,
    verified_claims,
)

AccessToken = get_access_token_model()

pytestmark = pytest.mark.usefixtures("shop")


def test_a_signed_in_customer_gets_an_access_token_that_verifies_against_the_jwks(alice, alices_browser):
    answer = sign_in_with_code(alices_browser.client)

    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == settings.ACCESS_TOKEN_SECONDS
    assert set(answer) == {"access_token", "expires_in", "token_type", "scope", "refresh_token", "id_token"}
    claims = verified_claims(answer["access_token"], published_jwks(alices_browser.client))
    assert set(claims) == ACCESS_TOKEN_CLAIMS
    assert claims["iss"] == settings.IDENTITY_ISSUER
    assert claims["aud"] == settings.IDENTITY_AUDIENCE
    assert claims["sub"] == alice.subject
    assert claims["client_id"] == SHOP
    assert claims["roles"] == []
    assert claims["exp"] - claims["iat"] == settings.ACCESS_TOKEN_SECONDS


def test_the_access_token_is_typed_at_jwt_and_names_its_key(alices_browser):
    header = jwt.get_unverified_header(sign_in_with_code(alices_browser.client)["access_token"])

    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"] in {key["kid"] for key in published_jwks(alices_browser.client)["keys"]}


def test_every_access_token_has_its_own_jti(alices_browser):
    jwks = published_jwks(alices_browser.client)
    first = verified_claims(sign_in_with_code(alices_browser.client)["access_token"], jwks)
    second = verified_claims(sign_in_with_code(alices_browser.client)["access_token"], jwks)

    assert first["jti"] != second["jti"]


def test_an_operator_s_token_carries_the_operator_role(browser):
    olivia = operator_create()
    browser.sign_in(olivia.email, PASSWORD)

    answer = sign_in_with_code(browser.client)

    claims = verified_claims(answer["access_token"], published_jwks(browser.client))
    assert (claims["sub"], claims["roles"]) == (olivia.subject, ["operator"])


def test_the_id_token_names_the_user_by_subject(alice, alices_browser):
    answer = sign_in_with_code(alices_browser.client)

    kid = jwt.get_unverified_header(answer["id_token"])["kid"]
    key = jwt.PyJWKSet.from_dict(published_jwks(alices_browser.client))[kid]
    claims = jwt.decode(answer["id_token"], key.key, algorithms=["RS256"], audience=SHOP)
    assert claims["sub"] == alice.subject
    assert claims["iss"] == settings.IDENTITY_ISSUER


def test_userinfo_names_the_user_by_subject_with_the_claims_asked_for(alice, alices_browser):
    pkce = Pkce()
    code = code_of(authorize(alices_browser.client, pkce, scope="openid email profile"))
    access_token = exchange(alices_browser.client, code, pkce).json()["access_token"]

    response = alices_browser.client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")

    assert response.status_code == 200
    assert response.json() == {
        "sub": alice.subject,
        "email": alice.email,
        "email_verified": False,
        "roles": [],
    }


def test_the_code_comes_back_with_the_state_and_the_issuer(alices_browser):
    query = redirect_query(authorize(alices_browser.client, Pkce()))

    assert query["code"]
    assert query["state"] == "state-1234"
    assert query["iss"] == settings.IDENTITY_ISSUER


def test_an_anonymous_browser_is_sent_to_sign_in_first(browser):
    response = authorize(browser.client, Pkce())

    assert response.status_code == 302
    assert response["Location"].startswith(f"{SIGN_IN}?next=/oauth/authorize%3F")


def test_signing_in_from_the_authorization_request_returns_to_it_and_gets_a_code(alice, browser):
    pkce = Pkce()
    to_sign_in = authorize(browser.client, pkce)

    signed_in = browser.submit(
        to_sign_in["Location"], {"username": alice.email, "password": PASSWORD, "next": next_of(to_sign_in)}
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"].startswith("/oauth/authorize?")

    answer = exchange(browser.client, code_of(browser.get(signed_in["Location"])), pkce)
    assert answer.status_code == 200, answer.content


def test_a_code_used_twice_is_refused_and_issues_no_second_token(alices_browser):
    pkce = Pkce()
    code = code_of(authorize(alices_browser.client, pkce))
    assert exchange(alices_browser.client, code, pkce).status_code == 200
    issued = AccessToken.objects.count()

    again = exchange(alices_browser.client, code, pkce)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == issued


def test_a_code_traded_by_another_client_is_refused(alices_browser):
    call_command(
        "ensure_client", "other-app", "--browser", "--redirect-uri", REDIRECT_URI, stdout=io.StringIO()
    )
    pkce = Pkce()
    code = code_of(authorize(alices_browser.client, pkce))

    refused = exchange(alices_browser.client, code, pkce, client_id="other-app")

    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert AccessToken.objects.count() == 0


def test_a_code_without_its_verifier_is_refused(alices_browser):
    pkce = Pkce()
    code = code_of(authorize(alices_browser.client, pkce))

    refused = exchange(alices_browser.client, code, pkce, code_verifier=None)

    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_request")
    assert AccessToken.objects.count() == 0


def test_a_code_with_another_verifier_is_refused(alices_browser):
    code = code_of(authorize(alices_browser.client, Pkce()))

    refused = exchange(alices_browser.client, code, Pkce())

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 0


def test_an_authorization_request_without_a_code_challenge_gets_no_code(alices_browser):
    query = redirect_query(
        authorize(alices_browser.client, Pkce(), code_challenge=None, code_challenge_method=None)
    )

    assert query["error"] == "invalid_request"
    assert "code" not in query


def test_the_plain_code_challenge_method_is_refused(alices_browser):
    pkce = Pkce()
    query = redirect_query(
        authorize(alices_browser.client, pkce, code_challenge=pkce.verifier, code_challenge_method="plain")
    )

    assert query["error"] == "invalid_request"
    assert "code" not in query


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:5173/callback/",
        "http://127.0.0.1:5173/callback?next=/",
        "http://localhost:5173/callback",
        "https://evil.example/callback",
    ],
)
def test_a_redirect_uri_not_registered_exactly_is_never_redirected_to(alices_browser, redirect_uri):
    response = authorize(alices_browser.client, Pkce(), redirect_uri=redirect_uri)

    assert response.status_code == 400
    assert "Location" not in response
    assert redirect_uri.encode() not in response.content


def test_a_loopback_redirect_uri_on_another_port_is_not_the_registered_one(alices_browser):
    """RFC 8252 would let a native app's loopback URI change its port; this provider's clients are web
    front ends, and another port is another origin (accounts.models.Client.redirect_uri_allowed)."""
    response = authorize(alices_browser.client, Pkce(), redirect_uri="http://127.0.0.1:5174/callback")

    assert response.status_code == 400
    assert "Location" not in response


def test_a_code_traded_with_another_redirect_uri_is_refused(alices_browser):
    pkce = Pkce()
    code = code_of(authorize(alices_browser.client, pkce))

    refused = exchange(alices_browser.client, code, pkce, redirect_uri=REDIRECT_URI + "/other")

    assert refused.status_code == 400
    assert AccessToken.objects.count() == 0


@pytest.mark.parametrize("scope", ["operator", "saga", "openid operator"])
def test_a_customer_asking_for_a_role_as_a_scope_gets_invalid_scope_and_no_code(alices_browser, scope):
    query = redirect_query(authorize(alices_browser.client, Pkce(), scope=scope))

    assert query["error"] == "invalid_scope"
    assert "code" not in query
    assert AccessToken.objects.count() == 0


def next_of(response) -> str:
    return parse_qs(urlsplit(response["Location"]).query)["next"][0]

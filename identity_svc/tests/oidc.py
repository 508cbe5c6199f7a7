"""The relying party's side of the OAuth and OpenID Connect flows, as a browser app and a service
would run them against the provider: PKCE, the authorization request, the token endpoint, and
checking a token against the published JWKS."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from django.conf import settings
from django.http import HttpResponse
from django.test import Client

SHOP = "shop"
REDIRECT_URI = "http://127.0.0.1:5173/callback"
SAGA = "saga-orchestrator"
SAGA_SECRET = "saga-secret-0123456789-abcdefghijklmnop"
SAGA_SECRET_ENV = "TEST_SAGA_CLIENT_SECRET"
AUTHORIZE, TOKEN, REVOKE = "/oauth/authorize", "/oauth/token", "/oauth/revoke"
JWKS, DISCOVERY = "/.well-known/jwks.json", "/.well-known/openid-configuration"
ACCESS_TOKEN_CLAIMS = {"iss", "aud", "sub", "exp", "iat", "jti", "client_id", "roles", "scope"}


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(client: Client, pkce: Pkce, **overrides: str | None) -> HttpResponse:
    """The authorization request of the shop, S256 and all; `name=None` leaves a parameter out."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": SHOP,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid orders",
        "state": "state-1234",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return client.get(AUTHORIZE, {name: value for name, value in params.items() if value is not None})


def redirect_query(response: HttpResponse, to: str = REDIRECT_URI) -> dict[str, str]:
    """The query of the redirect to `to` that `response` is."""
    assert response.status_code == 302, response.content
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == to, response["Location"]
    return {name: values[0] for name, values in parse_qs(target.query).items()}


def code_of(response: HttpResponse) -> str:
    query = redirect_query(response)
    assert query["state"] == "state-1234"
    return query["code"]


def token(client: Client, **fields: str | None) -> HttpResponse:
    """POST to the token endpoint; `name=None` leaves a field out."""
    return client.post(TOKEN, {name: value for name, value in fields.items() if value is not None})


def exchange(client: Client, code: str, pkce: Pkce, **overrides: str | None) -> HttpResponse:
    """The shop trades its code for tokens."""
    fields: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": SHOP,
        "code_verifier": pkce.verifier,
        **overrides,
    }
    return token(client, **fields)


def refresh(client: Client, refresh_token: str) -> HttpResponse:
    return token(client, grant_type="refresh_token", refresh_token=refresh_token, client_id=SHOP)


def sign_in_with_code(client: Client) -> dict[str, Any]:
    """The whole authorization-code flow for whoever is signed in to `client`: the token response."""
    pkce = Pkce()
    answer = exchange(client, code_of(authorize(client, pkce)), pkce)
    assert answer.status_code == 200, answer.content
    return answer.json()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def client_token(
    client: Client,
    client_id: str = SAGA,
    secret: str = SAGA_SECRET,
    *,
    address: str = "127.0.0.1",
    **fields: str,
) -> HttpResponse:
    """A service at `address` signs in as itself (client credentials), its secret sent by HTTP Basic."""
    return client.post(
        TOKEN,
        {"grant_type": "client_credentials", **fields},
        HTTP_AUTHORIZATION=basic(client_id, secret),
        REMOTE_ADDR=address,
    )


def verified_claims(access_token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """The claims of `access_token` once PyJWT has checked it against `jwks` as the services do:
    RS256 only, our issuer and audience, every claim they read present."""
    kid = jwt.get_unverified_header(access_token)["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[kid]
    return jwt.decode(
        access_token,
        key.key,
        algorithms=["RS256"],
        audience=settings.IDENTITY_AUDIENCE,
        issuer=settings.IDENTITY_ISSUER,
        options={"require": ["iss", "aud", "sub", "exp", "iat", "jti"]},
    )


def published_jwks(client: Client) -> dict[str, Any]:
    response = client.get(JWKS)
    assert response.status_code == 200
    return response.json()

"""Fixtures of identity_svc's tests: the chassis's callers and fresh throttle counters, a cheap
Argon2, a signing key made once, a customer and her browser, and the two clients the OAuth tests ask
tokens for: the shop (a browser app) and the saga worker (a service)."""

import io

import pytest
from accounts.models import SigningKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from jwcrypto import jwk

from tests.browser import Browser
from tests.factories import PASSWORD, customer_create
from tests.oidc import REDIRECT_URI, SAGA, SAGA_SECRET, SAGA_SECRET_ENV, SHOP

pytest_plugins = ["chassis.testing"]


@pytest.fixture(autouse=True)
def _quick_argon2(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.QuickArgon2PasswordHasher"]


@pytest.fixture(scope="session")
def _session_key_pem() -> bytes:
    """An RSA key as accounts.keys stores one, generated once per test session."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture
def signing_key(db, _session_key_pem) -> SigningKey:
    """The provider's current signing key, made once for the session: making and parsing a key in
    every test that signs a token would cost the suite several seconds."""
    kid = jwk.JWK.from_pem(_session_key_pem).thumbprint()
    return SigningKey.objects.create(kid=kid, private_pem=_session_key_pem.decode())


@pytest.fixture
def alice(db):
    """A customer, signed up with PASSWORD."""
    return customer_create(email="alice@example.com")


@pytest.fixture
def shop(signing_key):
    """The shop's browser client: public, authorization code with PKCE, one exact redirect URI."""
    call_command("ensure_client", SHOP, "--browser", "--redirect-uri", REDIRECT_URI, stdout=io.StringIO())
    return SHOP


@pytest.fixture
def saga_client(signing_key, monkeypatch):
    """The saga worker's service client: client credentials, the saga role, its secret read from
    the environment."""
    monkeypatch.setenv(SAGA_SECRET_ENV, SAGA_SECRET)
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
    return SAGA


@pytest.fixture
def browser(db) -> Browser:
    return Browser()


@pytest.fixture
def alices_browser(alice) -> Browser:
    """A browser in which alice has signed in."""
    browser = Browser()
    assert browser.sign_in(alice.email, PASSWORD).status_code == 302
    return browser

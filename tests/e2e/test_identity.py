"""identity_svc on a real stack: a new customer signs up, signs in through the authorization code flow
with PKCE and orders with the tokens it got, the way a browser client would; the flow's attacks are
refused with nothing issued; the signing key rotates without refusing a token it signed."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from infra.rest import RestClient
from infra.stack import Stack
from infra.stack.config import IDENTITY_SERVICE
from infra.stack.processes import service_migration
from tests.support.api import Api, unique
from tests.support.identity import (
    Browser,
    pkce_pair,
    register_browser_client,
    sign_up_and_get_tokens,
    subject_of,
)

CLIENT = "shop-e2e"
REDIRECT = "http://127.0.0.1:9/callback"  # nothing listens: the test reads the redirect itself


@pytest.fixture(scope="module")
def client(stack: Stack) -> str:
    register_browser_client(stack, CLIENT, REDIRECT)
    return CLIENT


@pytest.fixture
def browser(stack: Stack) -> Iterator[Browser]:
    browser = Browser(stack.config.identity_url)
    yield browser
    browser.close()


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@customers.example"


def test_a_new_customer_signs_up_signs_in_and_orders_with_identity_svc_tokens_only(
    api: Api, stack: Stack, browser: Browser, client: str
) -> None:
    tokens = sign_up_and_get_tokens(browser, client, REDIRECT, email())
    customer = subject_of(tokens["access_token"])
    sku = api.create_product(price_cents=1_250, on_hand=10)["sku"]

    # Signing up published identity.customer_registered, and payment_svc opened the account.
    deadline = time.monotonic() + 60
    while (answer := api.payment.get(f"/api/v1/accounts/{customer}")).status_code == 404:
        assert time.monotonic() < deadline, "payment_svc never opened the new customer's account"
        time.sleep(0.5)
    assert answer.status_code == 200
    assert answer.json()["balance_cents"] > 0  # the development credit

    with RestClient("order_svc", stack.order_url, token=tokens["access_token"]) as orders:
        placed = orders.check(
            orders.post("/api/v1/orders", {"customer_id": customer, "items": [{"sku": sku, "quantity": 2}]})
        )
    assert api.wait_for_final(placed["id"])["status"] == "CONFIRMED"
    with RestClient("identity_svc", stack.config.identity_url, token=tokens["access_token"]) as identity:
        me = identity.check(identity.get("/api/v1/me"))
    assert me["subject"] == customer


def test_a_code_works_once_and_only_with_its_verifier(browser: Browser, client: str) -> None:
    tokens = sign_up_and_get_tokens(browser, client, REDIRECT, email())
    assert tokens["refresh_token"]
    verifier, challenge = pkce_pair()

    code = browser.code(client, REDIRECT, challenge)
    assert browser.exchange(client, REDIRECT, code, None).json()["error"] == "invalid_request"  # no verifier
    code = browser.code(client, REDIRECT, challenge)
    assert browser.exchange(client, REDIRECT, code, pkce_pair()[0]).json()["error"] == "invalid_grant"
    code = browser.code(client, REDIRECT, challenge)
    assert browser.exchange(client, REDIRECT, code, verifier).status_code == 200
    twice = browser.exchange(client, REDIRECT, code, verifier)
    assert (twice.status_code, twice.json()["error"]) == (400, "invalid_grant")


def test_plain_pkce_and_an_unregistered_redirect_uri_get_no_code(browser: Browser, client: str) -> None:
    sign_up_and_get_tokens(browser, client, REDIRECT, email())
    verifier, challenge = pkce_pair()

    plain = browser.authorize(client, REDIRECT, None, code_challenge=verifier, code_challenge_method="plain")
    assert "code=" not in plain.headers.get("Location", "")
    elsewhere = browser.authorize(client, "http://127.0.0.1:9/callback/evil", challenge)
    assert elsewhere.status_code == 400  # shown to the user, never redirected to the unregistered URI
    assert "Location" not in elsewhere.headers


def test_a_refresh_token_replayed_after_rotation_revokes_its_whole_family(
    browser: Browser, client: str
) -> None:
    first = sign_up_and_get_tokens(browser, client, REDIRECT, email())
    second = browser.refresh(client, first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]

    replayed = browser.refresh(client, first["refresh_token"])
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")
    after = browser.refresh(client, second.json()["refresh_token"])  # the thief's and the owner's alike
    assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")


def test_a_customer_asking_for_the_operator_or_saga_role_gets_no_token(browser: Browser, client: str) -> None:
    sign_up_and_get_tokens(browser, client, REDIRECT, email())
    _, challenge = pkce_pair()
    for scope in ("openid operator", "openid saga"):
        answer = browser.authorize(client, REDIRECT, challenge, scope=scope)
        assert "code=" not in answer.headers.get("Location", ""), answer.headers.get("Location")
        assert "invalid_scope" in answer.headers.get("Location", "") + answer.text


def test_the_signing_key_rotates_and_tokens_it_signed_keep_working(api: Api, stack: Stack) -> None:
    customer = api.create_account(unique("rotation"), balance_cents=10_000)["customer_id"]
    before = api.keys.customer_token(customer)
    identity = service_migration(stack.config, IDENTITY_SERVICE)
    subprocess.run(
        [sys.executable, "manage.py", "rotate_signing_key"],
        cwd=identity.cwd,
        env=identity.env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    after = api.keys.customer_token(customer)

    old_kid, new_kid = (jwt.get_unverified_header(token)["kid"] for token in (before, after))
    assert old_kid != new_kid
    assert {old_kid, new_kid} <= {key["kid"] for key in api.keys.jwks()["keys"]}
    for token in (before, after):
        # A service fetches the JWKS again for a key it does not know, at most every 10 s.
        deadline = time.monotonic() + 20
        while (answer := _orders(stack, token)).status_code == 401 and time.monotonic() < deadline:
            time.sleep(1)
        assert answer.status_code == 200, answer.text


def _orders(stack: Stack, token: str) -> httpx.Response:
    return httpx.get(
        f"{stack.order_url}/api/v1/orders",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        trust_env=False,
    )

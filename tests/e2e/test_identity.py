"""identity_svc on a real stack: a new customer signs up, signs in through the authorization code flow
with PKCE and orders with the tokens it got, the way a browser client would; the flow's attacks are
refused with nothing issued; the signing key rotates without refusing a token it signed; and
afterwards money and stock still add up."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from chassis.tokens import JWKS_REFETCH_COOLDOWN_SECONDS
from infra.audit import run_audit
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


def test_the_signing_key_rotates_and_no_service_refuses_a_token_of_either_key(api: Api, stack: Stack) -> None:
    """The new key is published before it signs, longer than a service waits between two fetches of
    the JWKS: the first token of the new key is accepted at once, and so is the last of the old."""
    customer = api.create_account(unique("rotation"), balance_cents=10_000)["customer_id"]
    before = api.keys.customer_token(customer)
    assert _orders(stack, before).status_code == 200  # the services know the old key
    identity = service_migration(stack.config, IDENTITY_SERVICE)
    lead = JWKS_REFETCH_COOLDOWN_SECONDS + 1
    subprocess.run(
        [sys.executable, "manage.py", "rotate_signing_key", "--lead-seconds", str(lead)],
        cwd=identity.cwd,
        env=identity.env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    old_kid = jwt.get_unverified_header(before)["kid"]
    published = {key["kid"] for key in api.keys.jwks()["keys"]}
    assert old_kid in published
    assert len(published) >= 2  # the next key, published before it signs

    deadline = time.monotonic() + lead + 10
    while jwt.get_unverified_header(after := api.keys.customer_token(customer))["kid"] == old_kid:
        assert time.monotonic() < deadline, "the new key never started signing"
        time.sleep(0.5)

    assert jwt.get_unverified_header(after)["kid"] in published
    assert _orders(stack, after).status_code == 200
    assert _orders(stack, before).status_code == 200


def _orders(stack: Stack, token: str) -> httpx.Response:
    return httpx.get(
        f"{stack.order_url}/api/v1/orders",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        trust_env=False,
    )


def test_after_the_flows_and_their_attacks_money_and_stock_add_up(api: Api, stack: Stack) -> None:
    report = run_audit(
        order_url=stack.order_url,
        payment_url=stack.payment_url,
        inventory_url=stack.inventory_url,
        notification_url=stack.config.notification_url,
        temporal_address=stack.temporal_address,
        token=api.keys.operator_token(),
    )
    assert report.violations == []
    assert report.seen["orders"] >= 1

"""Attacks on the trust boundaries, one test each, against a real stack over HTTP: forged and
misdirected tokens, customers reaching for each other's data, callers reaching for the saga's
commands, the catalog, the books and the faults, a customer racing the saga with its own
idempotency keys, fields smuggled into an order, and a burst. Each attack gets the right refusal in
the error shape and no effect; afterwards the audit finds money and stock intact.
"""

import base64
import hashlib
import hmac as hmac_lib
import json
import time
import uuid

import jwt
import pytest

from chassis.tokens import DEV_AUDIENCE, DEV_ISSUER, LocalKeys
from infra.audit import run_audit
from tests.security.conftest import PLACEMENTS_PER_MINUTE
from tests.support.api import unique

SOME_ID = "00000000-0000-4000-8000-000000000000"

# (service, method, path) of every endpoint that needs a token, public and internal.
PUBLIC = [
    ("order", "GET", "/api/v1/orders"),
    ("order", "POST", "/api/v1/orders"),
    ("order", "GET", f"/api/v1/orders/{SOME_ID}"),
    ("inventory", "GET", "/api/v1/products"),
    ("inventory", "POST", "/api/v1/products"),
    ("inventory", "GET", "/api/v1/products/SKU"),
    ("inventory", "POST", "/api/v1/products/SKU/restock"),
    ("inventory", "GET", "/api/v1/reservations"),
    ("inventory", "GET", f"/api/v1/reservations/{SOME_ID}"),
    ("inventory", "GET", "/api/v1/reservation-events"),
    ("payment", "GET", "/api/v1/accounts"),
    ("payment", "POST", "/api/v1/accounts"),
    ("payment", "GET", "/api/v1/accounts/someone"),
    ("payment", "POST", "/api/v1/accounts/someone/deposits"),
    ("payment", "GET", "/api/v1/merchant"),
    ("payment", "GET", "/api/v1/payments"),
    ("payment", "GET", "/api/v1/payment-events"),
    ("order", "GET", "/api/v1/operations/breakers"),
    ("order", "GET", "/api/v1/operations/audit"),
]
FAULTS = [
    (service, method, "/api/v1/faults")
    for service in ("order", "payment", "inventory")
    for method in ("GET", "PUT", "DELETE")
]


def internal_commands(order_id: str, customer_id: str) -> list[tuple[str, str, str, dict, str]]:
    """Every saga command aimed at one order, with a plausible body and the saga's own key for it."""
    items = {"order_id": order_id, "items": [{"sku": "ANY", "quantity": 1}]}
    saga_key = f"order-{order_id}:%s"
    return [
        ("inventory", "POST", "/internal/v1/reservations", items, saga_key % "reserve_stock"),
        (
            "inventory",
            "POST",
            f"/internal/v1/reservations/{order_id}/release",
            {},
            saga_key % "release_stock",
        ),
        ("inventory", "POST", f"/internal/v1/reservations/{order_id}/commit", {}, saga_key % "commit_stock"),
        (
            "payment",
            "POST",
            "/internal/v1/payments/authorize",
            {"order_id": order_id, "customer_id": customer_id, "amount_cents": 1, "currency": "USD"},
            saga_key % "authorize_payment",
        ),
        ("payment", "POST", "/internal/v1/payments/void", {"order_id": order_id}, saga_key % "void_payment"),
        (
            "payment",
            "POST",
            "/internal/v1/payments/capture",
            {"order_id": order_id},
            saga_key % "capture_payment",
        ),
        (
            "order",
            "POST",
            f"/internal/v1/orders/{order_id}/confirm",
            {
                "lines": [{"sku": "ANY", "quantity": 1, "unit_price_cents": 0}],
                "total_cents": 0,
                "currency": "USD",
            },
            saga_key % "confirm_order",
        ),
        (
            "order",
            "POST",
            f"/internal/v1/orders/{order_id}/cancel",
            {"reason": "customer_cancelled"},
            saga_key % "cancel_order",
        ),
    ]


def assert_refused(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    if code is not None:
        assert body["code"] == code, body
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer "), response.headers


def assert_rejected_token(attacker, token: str) -> None:
    response = attacker.send("order", "GET", "/api/v1/orders", token)
    assert_refused(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(sub: str = "mallory", **overrides) -> dict:
    now = int(time.time())
    return {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": sub,
        "iat": now,
        "exp": now + 600,
        "roles": [],
    } | overrides


@pytest.fixture(scope="module")
def shop(api):
    """A product and two customers, alice and bob, each with an account and one confirmed order."""
    sku = api.create_product(price_cents=1_500, on_hand=1_000)["sku"]
    alice = api.create_account(unique("alice"), balance_cents=1_000_000)["customer_id"]
    bob = api.create_account(unique("bob"), balance_cents=1_000_000)["customer_id"]
    orders = {who: api.wait_for_final(api.place_order(who, {sku: 1})["id"]) for who in (alice, bob)}
    return {"sku": sku, "alice": alice, "bob": bob, "orders": orders}


# Tokens: missing, expired, tampered, misdirected, forged.


def test_without_a_token_every_endpoint_is_401_and_health_stays_open(api, attacker):
    for service, method, path in PUBLIC + FAULTS:
        assert_refused(attacker.send(service, method, path, None), 401, "not_authenticated")
    for service, method, path, body, key in internal_commands(SOME_ID, "someone"):
        assert_refused(attacker.send(service, method, path, None, body, key=key), 401, "not_authenticated")
    for service in ("order", "payment", "inventory"):
        for probe in ("/healthz", "/readyz"):
            assert attacker.send(service, "GET", probe, None).json() == {"status": "ok"}
    # The public catalog reads no token at all: none, or a forged one, reads the same page.
    catalog = attacker.send("inventory", "GET", "/api/v1/catalog", None)
    assert catalog.status_code == 200
    assert attacker.send("inventory", "GET", "/api/v1/catalog", "forged.token.here").json() == catalog.json()


def test_an_expired_token_is_refused(api, attacker):
    token = api.keys.customer_token("mallory", ttl_seconds=60)
    expired = api.keys.issue(subject="mallory", ttl_seconds=60, age_seconds=600)  # 9 min past, beyond leeway
    assert attacker.send("order", "GET", "/api/v1/orders", token).status_code == 200
    assert_rejected_token(attacker, expired)


def test_a_tampered_token_is_refused(api, shop, attacker):
    header, _, signature = api.keys.customer_token("mallory").split(".")
    as_alice = f"{header}.{b64(claims(shop['alice']))}.{signature}"  # mallory's signature, alice's name
    as_operator = f"{header}.{b64(claims(roles=['operator']))}.{signature}"

    assert_rejected_token(attacker, as_alice)
    assert_rejected_token(attacker, as_operator)


@pytest.mark.parametrize("wrong", [{"issuer": "https://evil.example/"}, {"audience": "another-system"}])
def test_a_token_from_another_provider_is_refused(api, attacker, tmp_path, wrong):
    """Its own key and its own issuer or audience: the services trust identity_svc's keys alone (the
    services' own suites refuse a wrong issuer or audience under the trusted key, claim by claim)."""
    other = LocalKeys.ensure(tmp_path / "other-provider")
    assert_rejected_token(attacker, other.issue(subject="mallory", roles=["operator"], **wrong))


def test_a_token_signed_with_another_key_is_refused(api, attacker, tmp_path):
    other = LocalKeys.ensure(tmp_path / "evil-keys")
    unknown_kid = other.operator_token()
    header = {"kid": api.keys.kid()}  # claims to be signed by the stack's key, but is not
    forged = jwt.encode(claims(roles=["operator"]), other._private_key, algorithm="EdDSA", headers=header)

    assert_rejected_token(attacker, unknown_kid)
    assert_rejected_token(attacker, forged)


def test_alg_none_and_hmac_tokens_are_refused(api, attacker):
    kid = api.keys.kid()
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims(roles=['operator']))}."
    # The classic confusion attack: HMAC keyed with the (public) verification key. Signed by hand,
    # since PyJWT itself refuses to use a key that looks like a JWK as an HMAC secret.
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64(claims(roles=['operator']))}"
    (public_jwk,) = [key for key in api.keys.jwks()["keys"] if key["kid"] == kid]
    mac = hmac_lib.new(public_jwk["n"].encode(), signing_input.encode(), hashlib.sha256).digest()
    hmac = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    assert_rejected_token(attacker, unsigned)
    assert_rejected_token(attacker, hmac)


# Customers reaching for each other's data.


def test_a_customer_cannot_see_another_customers_orders_or_account(api, shop, attacker):
    alice = api.keys.customer_token(shop["alice"])
    bobs_order = shop["orders"][shop["bob"]]["id"]

    nobody = attacker.send("order", "GET", f"/api/v1/orders/{uuid.uuid4()}", alice)
    assert_refused(
        attacker.send("order", "GET", f"/api/v1/orders/{bobs_order}", alice), 404, "order_not_found"
    )
    assert_refused(nobody, 404, "order_not_found")  # bob's order looks exactly like no order at all
    listed = attacker.send("order", "GET", "/api/v1/orders", alice, key=None).json()["results"]
    assert {order["customer_id"] for order in listed} == {shop["alice"]}
    asked_for_bob = attacker.send("order", "GET", f"/api/v1/orders?customer_id={shop['bob']}", alice).json()
    assert asked_for_bob["results"] == []
    assert_refused(attacker.send("payment", "GET", f"/api/v1/accounts/{shop['bob']}", alice), 404)
    own = attacker.send("payment", "GET", f"/api/v1/accounts/{shop['alice']}", alice)
    assert own.status_code == 200
    assert own.json()["customer_id"] == shop["alice"]


def test_a_customer_cannot_order_on_another_customers_account(api, shop, attacker):
    bob_before = api.get_account(shop["bob"])
    body = {"customer_id": shop["bob"], "items": [{"sku": shop["sku"], "quantity": 1}]}

    response = attacker.send(
        "order", "POST", "/api/v1/orders", api.keys.customer_token(shop["alice"]), body, key=unique("k")
    )

    assert_refused(response, 403, "customer_mismatch")
    bobs_orders = api.order.check(api.order.get("/api/v1/orders", params={"customer_id": shop["bob"]}))
    assert bobs_orders["count"] == 1  # only the order bob placed himself
    assert api.get_account(shop["bob"]) == bob_before


# Callers reaching for what is not theirs.


def test_customers_and_operators_cannot_call_the_sagas_commands(api, shop, attacker):
    order = shop["orders"][shop["alice"]]
    before = (api.get_order(order["id"]), api.payments_for(order["id"]), api.get_account(shop["alice"]))
    fresh = str(uuid.uuid4())  # an order no saga ever ran for: a forward command would be the first

    for token in (api.keys.customer_token(shop["alice"]), api.keys.operator_token()):
        for target in (order["id"], fresh):
            for service, method, path, body, key in internal_commands(target, shop["alice"]):
                assert_refused(
                    attacker.send(service, method, path, token, body, key=key or None),
                    403,
                    "permission_denied",
                )

    assert (
        api.get_order(order["id"]),
        api.payments_for(order["id"]),
        api.get_account(shop["alice"]),
    ) == before
    assert api.payments_for(fresh) == []
    missing = api.inventory.get(f"/api/v1/reservations/{fresh}")
    assert missing.status_code == 404


AUDITED = {
    ("order", "GET", "/api/v1/orders"),
    ("inventory", "GET", "/api/v1/products"),
    ("inventory", "GET", "/api/v1/reservations"),
    ("inventory", "GET", "/api/v1/reservation-events"),
    ("payment", "GET", "/api/v1/accounts"),
    ("payment", "GET", "/api/v1/merchant"),
    ("payment", "GET", "/api/v1/payments"),
    ("payment", "GET", "/api/v1/payment-events"),
}
"""The lists the scheduled audit reads (and one order by id): the auditor role's whole reach."""


def test_the_auditor_reads_what_the_audit_needs_and_can_change_nothing(stack, api, shop, attacker):
    auditor = api.keys.auditor_token()
    order = shop["orders"][shop["alice"]]
    before = (api.get_order(order["id"]), api.payments_for(order["id"]), api.get_account(shop["alice"]))

    report = run_audit(
        order_url=stack.order_url,
        payment_url=stack.payment_url,
        inventory_url=stack.inventory_url,
        temporal_address=stack.temporal_address,
        token=auditor,
    )
    assert report.seen["orders"] >= 2
    assert attacker.send("order", "GET", f"/api/v1/orders/{order['id']}", auditor).status_code == 200
    for service, method, path in PUBLIC + FAULTS:
        answer = attacker.send(service, method, path, auditor)
        if (service, method, path) in AUDITED:
            assert answer.status_code == 200, (service, method, path, answer.text)
        elif path == f"/api/v1/orders/{SOME_ID}":  # the one order the audit may read by id: none here
            assert_refused(answer, 404, "order_not_found")
        else:
            assert_refused(answer, 403, "permission_denied")
    for target in (order["id"], str(uuid.uuid4())):
        for service, method, path, body, key in internal_commands(target, shop["alice"]):
            assert_refused(
                attacker.send(service, method, path, auditor, body, key=key or None), 403, "permission_denied"
            )
    for service in ("order", "payment", "inventory"):
        purge = attacker.send(service, "POST", "/internal/v1/idempotency-records/purge", auditor, {})
        assert_refused(purge, 403, "permission_denied")

    assert (
        api.get_order(order["id"]),
        api.payments_for(order["id"]),
        api.get_account(shop["alice"]),
    ) == before


def test_customers_cannot_touch_the_catalog_the_books_or_the_faults(api, shop, attacker):
    alice = api.keys.customer_token(shop["alice"])
    product, account = api.get_product(shop["sku"]), api.get_account(shop["alice"])
    attempts = [
        (
            "inventory",
            "POST",
            "/api/v1/products",
            {"sku": unique("EVIL"), "name": "x", "price_cents": 0, "on_hand": 9},
        ),
        ("inventory", "POST", f"/api/v1/products/{shop['sku']}/restock", {"quantity": 1000}),
        ("inventory", "GET", "/api/v1/products", None),
        ("order", "GET", "/api/v1/operations/breakers", None),
        ("order", "GET", "/api/v1/operations/audit", None),
        ("payment", "POST", "/api/v1/accounts", {"customer_id": unique("sock"), "balance_cents": 10**9}),
        ("payment", "POST", f"/api/v1/accounts/{shop['alice']}/deposits", {"amount_cents": 10**9}),
        ("payment", "GET", "/api/v1/payments", None),
        ("payment", "GET", "/api/v1/payment-events", None),
        ("payment", "GET", "/api/v1/merchant", None),
        *[
            (service, method, path, {"error_rate": 1.0} if method == "PUT" else None)
            for service, method, path in FAULTS
        ],
    ]
    for service, method, path, body in attempts:
        assert_refused(
            attacker.send(service, method, path, alice, body, key=unique("k")), 403, "permission_denied"
        )

    assert api.get_product(shop["sku"]) == product
    assert api.get_account(shop["alice"]) == account
    for service in ("order", "payment", "inventory"):  # no fault was set anywhere
        faults = attacker.send(service, "GET", "/api/v1/faults", api.keys.operator_token()).json()
        assert faults["config"]["error_rate"] == 0


def test_the_saga_and_the_auditor_cannot_place_orders_and_an_operator_must_name_the_customer(
    api, shop, attacker
):
    body = {"customer_id": shop["alice"], "items": [{"sku": shop["sku"], "quantity": 1}]}
    for token in (api.keys.saga_token(), api.keys.auditor_token()):
        assert_refused(attacker.send("order", "POST", "/api/v1/orders", token, body, key=unique("k")), 403)
    assert_refused(attacker.send("order", "GET", "/api/v1/orders", api.keys.saga_token()), 403)
    nameless = {"items": body["items"]}
    refused = attacker.send(
        "order", "POST", "/api/v1/orders", api.keys.operator_token(), nameless, key=unique("k")
    )
    assert_refused(refused, 422, "customer_required")


# A customer racing its own saga.


def test_a_customer_sending_the_sagas_keys_first_changes_nothing(api, shop, attacker):
    """Before, a capture sent first with `order-<id>:capture_payment` stored a 404 under the saga's key,
    and the saga's own capture was answered with it forever: a paid order stuck. Now the saga's
    commands refuse the customer before any key is claimed, and keys are the caller's own anyway."""
    customer = api.create_account(unique("racer"), balance_cents=100_000)["customer_id"]
    token = api.keys.customer_token(customer)
    operator = api.keys.operator_token()
    # Hold the saga at its authorization for 3 s, so that the keys of every later step (capture,
    # commit, confirm) and of every compensation are sent before the saga sends them.
    slow = {"latency_ms": [3000, 3000], "paths": ["/internal/v1/payments/authorize"]}
    assert attacker.send("payment", "PUT", "/api/v1/faults", operator, slow).status_code == 200
    try:
        order = api.place_order(customer, {shop["sku"]: 2})
        commands = internal_commands(order["id"], customer)
        slow_last = sorted(
            (c for c in commands if c[4]), key=lambda c: c[2] == "/internal/v1/payments/authorize"
        )
        for service, method, path, body, key in slow_last[:-1]:
            assert_refused(attacker.send(service, method, path, token, body, key=key), 403)
        replant = {"items": [{"sku": shop["sku"], "quantity": 1}]}
        stolen_key = attacker.send(
            "order", "POST", "/api/v1/orders", token, replant, key=f"order-{order['id']}:capture_payment"
        )
        assert stolen_key.status_code == 202  # just another order of its own, under its own key scope
        assert api.payments_for(order["id"]) == []  # the saga had not got that far yet
        service, method, path, body, key = slow_last[-1]
        assert_refused(attacker.send(service, method, path, token, body, key=key), 403)
    finally:
        attacker.send("payment", "DELETE", "/api/v1/faults", operator)

    final = api.wait_for_final(order["id"], timeout=60)
    api.wait_for_final(stolen_key.json()["id"], timeout=60)
    assert (final["status"], final["total_cents"]) == ("CONFIRMED", 3_000)
    assert [(p["status"], p["amount_cents"]) for p in api.payments_for(order["id"])] == [("CAPTURED", 3_000)]
    assert api.get_account(customer)["balance_cents"] == 100_000 - 3_000 - 1_500  # charged once for each


def test_fields_smuggled_into_an_order_are_refused_not_applied(api, shop, attacker):
    customer = api.create_account(unique("smuggler"), balance_cents=100_000)["customer_id"]
    token = api.keys.customer_token(customer)
    smuggled = [
        {"status": "CONFIRMED"},
        {"total_cents": 0},
        {"cancellation_reason": "customer_cancelled"},
        {"id": str(uuid.uuid4())},
    ]
    for extra in smuggled:
        body = {"items": [{"sku": shop["sku"], "quantity": 1}], **extra}
        response = attacker.send("order", "POST", "/api/v1/orders", token, body, key=unique("k"))
        assert_refused(response, 400, "validation_error")
        assert list(response.json()["details"]) == list(extra)
    priced_item = {"items": [{"sku": shop["sku"], "quantity": 1, "unit_price_cents": 0}]}
    assert_refused(attacker.send("order", "POST", "/api/v1/orders", token, priced_item, key=unique("k")), 400)

    assert api.order.check(api.order.get("/api/v1/orders", params={"customer_id": customer}))["count"] == 0


def test_a_burst_of_placements_meets_429(api, shop, attacker):
    customer = api.create_account(unique("burst"), balance_cents=1_000_000)["customer_id"]
    token = api.keys.customer_token(customer)
    body = {"items": [{"sku": shop["sku"], "quantity": 1}]}

    answers = [
        attacker.send("order", "POST", "/api/v1/orders", token, body, key=unique("k"))
        for _ in range(PLACEMENTS_PER_MINUTE + 3)
    ]

    assert [a.status_code for a in answers] == [202] * PLACEMENTS_PER_MINUTE + [429] * 3
    for refused in answers[PLACEMENTS_PER_MINUTE:]:
        assert_refused(refused, 429, "throttled")
        assert 0 < int(refused.headers["Retry-After"]) <= 60
    other = api.place_order(shop["bob"], {shop["sku"]: 1})  # another customer is not held back
    placed = api.order.check(api.order.get("/api/v1/orders", params={"customer_id": customer}))["results"]
    assert len(placed) == PLACEMENTS_PER_MINUTE  # a refused placement left nothing behind
    for order in [*placed, other]:
        api.wait_for_final(order["id"], timeout=60)


def test_after_every_attack_money_and_stock_add_up(stack, api, shop):
    report = run_audit(
        order_url=stack.order_url,
        payment_url=stack.payment_url,
        inventory_url=stack.inventory_url,
        temporal_address=stack.temporal_address,
        token=api.keys.operator_token(),
    )
    assert report.violations == []
    assert report.seen["orders"] >= 2 + 2 + PLACEMENTS_PER_MINUTE + 1

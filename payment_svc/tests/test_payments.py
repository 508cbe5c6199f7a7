"""The payment state machine and the money invariant, through services and the REST API."""

import uuid

import pytest
from payments import services
from payments.errors import PaymentCaptured, PaymentVoided
from payments.models import Account, MerchantAccount, Payment

pytestmark = pytest.mark.django_db


def money(customer_id="alice"):
    account = Account.objects.get(customer_id=customer_id)
    return account.balance_cents, account.held_cents, MerchantAccount.objects.get().balance_cents


def authorize(saga, order_id, amount=2500, customer="alice", **extra):
    body = {
        "order_id": str(order_id),
        "customer_id": customer,
        "amount_cents": amount,
        "currency": "USD",
        **extra,
    }
    return saga.post("/internal/v1/payments/authorize", body)


def test_account_create_and_read(operator):
    assert operator.post("/api/v1/accounts", {"customer_id": "bob", "balance_cents": 500}).status_code == 201
    assert operator.get("/api/v1/accounts/bob").json() == {
        "customer_id": "bob",
        "balance_cents": 500,
        "held_cents": 0,
        "deposited_cents": 500,
        "currency": "USD",
    }
    dup = operator.post("/api/v1/accounts", {"customer_id": "bob", "balance_cents": 1})
    assert dup.status_code == 409
    assert dup.json()["code"] == "account_exists"
    assert operator.get("/api/v1/accounts/nobody").json()["code"] == "account_not_found"


def test_authorize_holds_then_capture_moves_to_merchant(saga, operator, make_account):
    make_account(balance_cents=10_000)
    order_id = uuid.uuid4()

    r = authorize(saga, order_id)
    assert r.status_code == 201
    assert r.json()["status"] == "AUTHORIZED"
    assert r.json()["amount_cents"] == 2500
    assert money() == (7500, 2500, 0)

    captured = saga.post("/internal/v1/payments/capture", {"order_id": str(order_id)})
    assert captured.status_code == 200
    assert captured.json()["status"] == "CAPTURED"
    assert money() == (7500, 0, 2500)

    again = saga.post("/internal/v1/payments/capture", {"order_id": str(order_id)})
    assert again.status_code == 200
    assert money() == (7500, 0, 2500)
    listed = operator.get("/api/v1/payments", {"order_id": str(order_id)}).json()["results"]
    assert [(p["status"], p["amount_cents"]) for p in listed] == [("CAPTURED", 2500)]


def test_void_returns_the_hold_and_is_repeatable(saga, make_account):
    make_account(balance_cents=10_000)
    order_id = uuid.uuid4()
    authorize(saga, order_id)
    for _ in range(2):
        r = saga.post("/internal/v1/payments/void", {"order_id": str(order_id)})
        assert r.status_code == 200
        assert r.json()["status"] == "VOIDED"
    assert money() == (10_000, 0, 0)


def test_void_without_payment_leaves_tombstone_that_refuses_late_authorize(saga, make_account):
    make_account(balance_cents=10_000)
    order_id = uuid.uuid4()
    r = saga.post("/internal/v1/payments/void", {"order_id": str(order_id)})
    assert r.status_code == 200
    assert r.json()["status"] == "VOIDED"
    assert r.json()["amount_cents"] == 0

    late = authorize(saga, order_id)
    assert late.status_code == 409
    assert late.json()["code"] == "payment_voided"
    assert money() == (10_000, 0, 0)


@pytest.mark.parametrize(
    ("customer", "amount", "currency", "reason"),
    [
        ("alice", 10_001, "USD", "insufficient_funds"),
        ("nobody", 100, "USD", "unknown_account"),
        ("alice", 100, "EUR", "currency_mismatch"),
    ],
)
def test_declines_are_402_and_hold_nothing(saga, make_account, customer, amount, currency, reason):
    make_account(balance_cents=10_000)
    r = authorize(saga, uuid.uuid4(), amount=amount, customer=customer, currency=currency)
    assert r.status_code == 402
    assert r.json()["code"] == "payment_declined"
    assert r.json()["details"]["reason"] == reason
    assert money() == (10_000, 0, 0)


def test_a_decline_for_insufficient_funds_does_not_reveal_the_balance(saga, make_account):
    """The saga learns "not enough", never how much the customer has."""
    make_account(balance_cents=10_000)
    r = authorize(saga, uuid.uuid4(), amount=10_001)
    assert r.status_code == 402
    assert r.json()["details"] == {"reason": "insufficient_funds", "amount_cents": 10_001}
    assert b"10000" not in r.content


def test_authorize_twice_for_same_order_holds_once(make_account):
    make_account(balance_cents=10_000)
    order_id = uuid.uuid4()
    first, created = services.payment_authorize(
        order_id=order_id, customer_id="alice", amount_cents=300, currency="USD"
    )
    again, created_again = services.payment_authorize(
        order_id=order_id, customer_id="alice", amount_cents=300, currency="USD"
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert money() == (9700, 300, 0)


def test_captured_cannot_be_voided_and_voided_cannot_be_captured(make_account):
    make_account(balance_cents=10_000)
    captured, voided = uuid.uuid4(), uuid.uuid4()
    for order_id in (captured, voided):
        services.payment_authorize(order_id=order_id, customer_id="alice", amount_cents=100, currency="USD")
    services.payment_capture(order_id=captured)
    services.payment_void(order_id=voided)
    with pytest.raises(PaymentCaptured):
        services.payment_void(order_id=captured)
    with pytest.raises(PaymentVoided):
        services.payment_capture(order_id=voided)
    assert money() == (9900, 0, 100)


def test_capture_unknown_order_is_404(saga):
    r = saga.post("/internal/v1/payments/capture", {"order_id": str(uuid.uuid4())})
    assert r.status_code == 404
    assert r.json()["code"] == "payment_not_found"


def test_merchant_balance_is_readable(operator):
    assert operator.get("/api/v1/merchant").json() == {"balance_cents": 0, "currency": "USD"}


ORDER = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/internal/v1/payments/authorize", {"customer_id": "alice", "amount_cents": 1}, "order_id"),
        (
            "/internal/v1/payments/authorize",
            {"order_id": ORDER, "customer_id": "alice", "amount_cents": 0},
            "amount_cents",
        ),
        (
            "/internal/v1/payments/authorize",
            {"order_id": ORDER, "customer_id": "alice", "amount_cents": -5},
            "amount_cents",
        ),
        (
            "/internal/v1/payments/authorize",
            {"order_id": ORDER, "customer_id": "alice", "amount_cents": 1.5},
            "amount_cents",
        ),
        (
            "/internal/v1/payments/authorize",
            {"order_id": ORDER, "customer_id": "alice", "amount_cents": "1"},
            "amount_cents",
        ),
        (
            "/internal/v1/payments/authorize",
            {"order_id": ORDER, "customer_id": 7, "amount_cents": 1},
            "customer_id",
        ),
        (
            "/internal/v1/payments/authorize",
            {"order_id": ORDER, "customer_id": "alice", "amount_cents": 1, "currency": "dollars"},
            "currency",
        ),
        ("/internal/v1/payments/void", {"order_id": "nope"}, "order_id"),
        ("/internal/v1/payments/capture", {}, "order_id"),
        ("/api/v1/accounts", {"customer_id": "x y", "balance_cents": 1}, "customer_id"),
        ("/api/v1/accounts", {"customer_id": "x", "balance_cents": -1}, "balance_cents"),
    ],
)
def test_invalid_bodies_are_400_and_move_no_money(saga, operator, make_account, path, body, field):
    make_account(balance_cents=10_000)
    r = (saga if path.startswith("/internal/") else operator).post(path, body)
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert field in r.json()["details"]
    assert money() == (10_000, 0, 0)
    assert Account.objects.count() == 1


def test_bad_order_id_filter_is_400(operator):
    r = operator.get("/api/v1/payments", {"order_id": "nope"})
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"


def test_idempotency_key_is_required_and_replays(saga, make_account):
    make_account(balance_cents=10_000)
    body = {"order_id": str(uuid.uuid4()), "customer_id": "alice", "amount_cents": 100, "currency": "USD"}
    assert (
        saga.post("/internal/v1/payments/authorize", body, key="").json()["code"] == "idempotency_key_missing"
    )
    first = saga.post("/internal/v1/payments/authorize", body, key="wf:authorize")
    again = saga.post("/internal/v1/payments/authorize", body, key="wf:authorize")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert money() == (9900, 100, 0)


# --- deposits ---


def books(customer_id="alice"):
    """(deposited, balance + held + captured) of an account: the two must always be equal."""
    account = Account.objects.get(customer_id=customer_id)
    captured = sum(p.amount_cents for p in Payment.objects.filter(customer_id=customer_id, status="CAPTURED"))
    return account.deposited_cents, account.balance_cents + account.held_cents + captured


def test_a_deposit_grows_balance_and_deposited_and_the_books_still_add_up(operator, make_account):
    make_account(balance_cents=10_000)
    captured, held = uuid.uuid4(), uuid.uuid4()
    services.payment_authorize(order_id=captured, customer_id="alice", amount_cents=2500, currency="USD")
    services.payment_capture(order_id=captured)
    services.payment_authorize(order_id=held, customer_id="alice", amount_cents=1000, currency="USD")

    r = operator.post("/api/v1/accounts/alice/deposits", {"amount_cents": 500})

    assert r.status_code == 200
    assert r.json() == {
        "customer_id": "alice",
        "balance_cents": 7000,
        "held_cents": 1000,
        "deposited_cents": 10_500,
        "currency": "USD",
    }
    assert books() == (10_500, 10_500)
    assert money() == (7000, 1000, 2500)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"amount_cents": 0},
        {"amount_cents": -1},
        {"amount_cents": "5"},
        {"amount_cents": 1.5},
        {"amount_cents": True},
        {"amount_cents": 10**12 + 1},
    ],
)
def test_a_deposit_with_a_bad_amount_is_400_and_moves_no_money(operator, make_account, body):
    make_account(balance_cents=10_000)
    r = operator.post("/api/v1/accounts/alice/deposits", body)
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert "amount_cents" in r.json()["details"]
    assert books() == (10_000, 10_000)
    assert money() == (10_000, 0, 0)


def test_a_deposit_to_an_unknown_account_is_404_and_opens_none(operator):
    r = operator.post("/api/v1/accounts/nobody/deposits", {"amount_cents": 500})
    assert r.status_code == 404
    assert r.json() == {
        "code": "account_not_found",
        "message": "No account for this customer.",
        "details": {"customer_id": "nobody"},
    }
    assert not Account.objects.exists()


def test_deposits_stop_at_the_deposit_limit(operator, make_account):
    make_account(balance_cents=services.MAX_DEPOSITED_CENTS - 10)
    over = operator.post("/api/v1/accounts/alice/deposits", {"amount_cents": 11})
    assert over.status_code == 422
    assert over.json()["code"] == "deposit_limit"
    assert books() == (services.MAX_DEPOSITED_CENTS - 10,) * 2

    exactly = operator.post("/api/v1/accounts/alice/deposits", {"amount_cents": 10})
    assert exactly.status_code == 200
    assert exactly.json()["deposited_cents"] == services.MAX_DEPOSITED_CENTS

"""The payment event ledger: one event per real transition, in its transaction, carrying the request's key;
and the paginated read endpoints the auditor uses."""

import uuid

import pytest
from payments import services
from payments.errors import PaymentDeclined, PaymentVoided
from payments.models import Account, Payment, PaymentEvent

pytestmark = pytest.mark.django_db


def events(order_id):
    return [
        (e.kind, e.amount_cents, e.idempotency_key) for e in PaymentEvent.objects.filter(order_id=order_id)
    ]


def authorize_body(order_id, amount=2500):
    return {"order_id": str(order_id), "customer_id": "alice", "amount_cents": amount, "currency": "USD"}


def test_deposit_is_kept_while_money_moves(operator, make_account):
    operator.post("/api/v1/accounts", {"customer_id": "bob", "balance_cents": 900})
    order_id = uuid.uuid4()
    services.payment_authorize(order_id=order_id, customer_id="bob", amount_cents=400, currency="USD")
    services.payment_capture(order_id=order_id)
    bob = Account.objects.get(customer_id="bob")
    assert (bob.balance_cents, bob.held_cents, bob.deposited_cents) == (500, 0, 900)


def test_authorize_then_capture_records_one_event_each_with_the_request_key(saga, make_account):
    make_account(balance_cents=10_000)
    order_id = uuid.uuid4()
    for key in ("order-x:authorize_payment", "a-late-retry"):
        saga.post("/internal/v1/payments/authorize", authorize_body(order_id), key=key)
    for key in ("order-x:capture_payment", "another-retry"):
        saga.post("/internal/v1/payments/capture", {"order_id": str(order_id)}, key=key)

    assert events(order_id) == [
        ("AUTHORIZED", 2500, "order-x:authorize_payment"),
        ("CAPTURED", 2500, "order-x:capture_payment"),
    ]


def test_void_of_a_hold_records_its_amount_once(saga, make_account):
    make_account(balance_cents=10_000)
    order_id = uuid.uuid4()
    saga.post("/internal/v1/payments/authorize", authorize_body(order_id), key="k-auth")
    saga.post("/internal/v1/payments/void", {"order_id": str(order_id)}, key="k-void")
    saga.post("/internal/v1/payments/void", {"order_id": str(order_id)}, key="k-void-again")

    assert events(order_id) == [("AUTHORIZED", 2500, "k-auth"), ("VOIDED", 2500, "k-void")]


def test_tombstone_void_records_zero_and_the_refused_authorize_records_nothing(saga, make_account):
    make_account(balance_cents=10_000)
    order_id = uuid.uuid4()
    saga.post("/internal/v1/payments/void", {"order_id": str(order_id)}, key="k-void")
    refused = saga.post("/internal/v1/payments/authorize", authorize_body(order_id), key="k-auth")

    assert refused.status_code == 409
    assert events(order_id) == [("VOIDED", 0, "k-void")]


def test_declines_and_refusals_record_nothing(make_account):
    make_account(balance_cents=100)
    declined, voided = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(PaymentDeclined):
        services.payment_authorize(order_id=declined, customer_id="alice", amount_cents=500, currency="USD")
    services.payment_void(order_id=voided)
    with pytest.raises(PaymentVoided):
        services.payment_capture(order_id=voided)

    assert events(declined) == []
    assert events(voided) == [("VOIDED", 0, "")]


@pytest.mark.django_db(
    transaction=True
)  # the failure rolls back the service's own transaction, not a savepoint
def test_an_event_that_cannot_be_written_undoes_its_transition(make_account, merchant, monkeypatch):
    make_account(balance_cents=10_000)
    order_id = uuid.uuid4()
    services.payment_authorize(order_id=order_id, customer_id="alice", amount_cents=300, currency="USD")

    def refuse(**fields):
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(PaymentEvent.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        services.payment_capture(order_id=order_id)

    assert Payment.objects.get(order_id=order_id).status == "AUTHORIZED"
    assert Account.objects.get(customer_id="alice").held_cents == 300


def test_event_list_filters_by_order_and_pages(saga, operator, make_account):
    make_account(balance_cents=10_000)
    first, second = uuid.uuid4(), uuid.uuid4()
    for order_id in (first, second):
        saga.post(
            "/internal/v1/payments/authorize", authorize_body(order_id, amount=100), key=f"auth-{order_id}"
        )
    saga.post("/internal/v1/payments/capture", {"order_id": str(first)}, key="cap")

    listed = operator.get("/api/v1/payment-events", {"order_id": str(first)}).json()
    assert listed["count"] == 2
    assert listed["next"] is None
    assert [(e["kind"], e["amount_cents"], e["idempotency_key"]) for e in listed["results"]] == [
        ("AUTHORIZED", 100, f"auth-{first}"),
        ("CAPTURED", 100, "cap"),
    ]
    assert set(listed["results"][0]) == {
        "id",
        "order_id",
        "kind",
        "amount_cents",
        "idempotency_key",
        "created_at",
    }
    page = operator.get("/api/v1/payment-events", {"page_size": 2, "page": 2}).json()
    assert page["count"] == 3
    assert [e["kind"] for e in page["results"]] == ["CAPTURED"]
    assert operator.get("/api/v1/payment-events", {"order_id": "nope"}).json()["code"] == "validation_error"


def test_accounts_and_payments_are_paginated_up_to_500_a_page(operator, make_account):
    for n in range(3):
        make_account(customer_id=f"c{n}", balance_cents=1_000)
    for n in range(3):
        services.payment_authorize(
            order_id=uuid.uuid4(), customer_id=f"c{n}", amount_cents=10, currency="USD"
        )

    accounts = operator.get("/api/v1/accounts", {"page_size": 2}).json()
    assert accounts["count"] == 3
    assert accounts["next"] is not None
    assert [a["customer_id"] for a in accounts["results"]] == ["c0", "c1"]
    assert accounts["results"][0]["deposited_cents"] == 1_000
    payments = operator.get("/api/v1/payments", {"page_size": 500}).json()
    assert payments["count"] == 3
    assert len(payments["results"]) == 3
    assert operator.get("/api/v1/payments", {"page": 2}).json()["code"] == "not_found"


def test_page_size_is_500_at_most_and_more_is_400(operator, make_account):
    Account.objects.bulk_create(
        Account(customer_id=f"c{n:03d}", balance_cents=1, deposited_cents=1) for n in range(501)
    )
    page = operator.get("/api/v1/accounts", {"page_size": 500}).json()
    assert page["count"] == 501
    assert len(page["results"]) == 500
    refused = operator.get("/api/v1/accounts", {"page_size": 1000})
    assert refused.status_code == 400
    assert list(refused.json()["details"]) == ["page_size"]

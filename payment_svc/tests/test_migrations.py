"""Migration 0003 on a database that already holds money: deposits and events are rebuilt from state."""

import uuid

import pytest

BEFORE = [("payments", "0002_merchant_account")]
AFTER = [("payments", "0003_account_deposited_cents_payment_events")]


@pytest.mark.django_db(transaction=True)
def test_existing_accounts_and_payments_get_their_deposit_and_events(migrations):
    old = migrations(BEFORE)
    captured, held, tombstone = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    old.get_model("payments", "Account").objects.create(customer_id="ann", balance_cents=600, held_cents=100)
    payment = old.get_model("payments", "Payment").objects
    payment.create(order_id=captured, customer_id="ann", amount_cents=300, status="CAPTURED")
    payment.create(order_id=held, customer_id="ann", amount_cents=100, status="AUTHORIZED")
    payment.create(order_id=tombstone, status="VOIDED")

    new = migrations(AFTER)

    assert new.get_model("payments", "Account").objects.get().deposited_cents == 1000
    events = new.get_model("payments", "PaymentEvent").objects
    assert sorted((str(e.order_id), e.kind, e.amount_cents) for e in events.all()) == sorted(
        [
            (str(captured), "AUTHORIZED", 300),
            (str(captured), "CAPTURED", 300),
            (str(held), "AUTHORIZED", 100),
            (str(tombstone), "VOIDED", 0),
        ]
    )

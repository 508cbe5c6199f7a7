"""Concurrent authorizations never overdraw. Needs PostgreSQL: real row locks, real parallel transactions."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from payments import services
from payments.errors import PaymentDeclined, PaymentVoided
from payments.models import Account

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL=postgres://...); SQLite serialises writers anyway",
    ),
]


def _authorize(amount: int) -> bool:
    try:
        services.payment_authorize(
            order_id=uuid.uuid4(), customer_id="carol", amount_cents=amount, currency="USD"
        )
        return True
    except PaymentDeclined:
        return False
    finally:
        connections.close_all()


def test_twenty_concurrent_authorizations_never_overdraw():
    Account.objects.create(customer_id="carol", balance_cents=1000, deposited_cents=1000)
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda _: _authorize(300), range(20)))
    account = Account.objects.get(customer_id="carol")
    assert outcomes.count(True) == 3
    assert (account.balance_cents, account.held_cents) == (100, 900)


def test_concurrent_authorize_and_void_of_one_order_leave_no_hold_behind():
    Account.objects.create(customer_id="carol", balance_cents=1000, deposited_cents=1000)
    order_ids = [uuid.uuid4() for _ in range(20)]

    def authorize(order_id):
        try:
            services.payment_authorize(
                order_id=order_id, customer_id="carol", amount_cents=10, currency="USD"
            )
        except PaymentVoided:
            pass  # refused by the tombstone when the void won the race
        finally:
            connections.close_all()

    def void(order_id):
        try:
            services.payment_void(order_id=order_id)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(fn, order_id) for order_id in order_ids for fn in (authorize, void)]
        for future in futures:
            future.result()
    account = Account.objects.get(customer_id="carol")
    assert (account.balance_cents, account.held_cents) == (1000, 0)

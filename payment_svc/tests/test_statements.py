"""Pinned: what the payment commands cost in SQL statements, on a first call and on a replay.

A transactional test through the API sees all of them: the transaction's own BEGIN and COMMIT and
the Idempotency-Key's look-up and INSERT around the effect. On PostgreSQL an account row lock and a
savepoint (around the INSERT of a payment a concurrent transaction may beat) come on top.
"""

import uuid

import pytest
from django.db import connection

from chassis.idempotency.testing import assert_statements

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def hold(make_account, merchant) -> dict:
    make_account(customer_id="alice", balance_cents=10_000)
    return {"order_id": str(uuid.uuid4()), "customer_id": "alice", "amount_cents": 2500, "currency": "USD"}


def test_authorizing(saga, hold, django_assert_num_queries):
    def authorize():
        return saga.post("/internal/v1/payments/authorize", hold, key="authorize")

    # BEGIN; SELECT the key's record (none); SELECT the account (FOR UPDATE on PostgreSQL) and whether
    # the order has a payment; INSERT the payment (inside a SAVEPOINT on PostgreSQL: +2); UPDATE the
    # account; INSERT the AUTHORIZED event; INSERT the key's record with the answer; COMMIT.
    assert assert_statements(authorize, 8 + 2 * POSTGRES, django_assert_num_queries).status_code == 201


@pytest.mark.parametrize(("command", "statements"), [("void", 9), ("capture", 10)])
def test_voiding_or_capturing(saga, hold, django_assert_num_queries, command, statements):
    saga.post("/internal/v1/payments/authorize", hold)

    def finish():
        return saga.post(f"/internal/v1/payments/{command}", {"order_id": hold["order_id"]}, key=command)

    # BEGIN; SELECT the key's record (none); SELECT the payment; on PostgreSQL, SELECT the account FOR
    # UPDATE (+1); UPDATE the payment's status; UPDATE the account; for a capture, UPDATE the
    # merchant's account; INSERT the ledger's event; INSERT the integration event (payment.voided or
    # payment.captured); on PostgreSQL, NOTIFY the publisher (+1); INSERT the key's record with the
    # answer; COMMIT.
    assert_statements(finish, statements + 2 * POSTGRES, django_assert_num_queries)


def test_voiding_what_was_never_authorized(saga, django_assert_num_queries):
    # BEGIN; SELECT the key's record (none); SELECT the payment (none); INSERT the VOIDED tombstone
    # (inside a SAVEPOINT on PostgreSQL: +2); INSERT the event; INSERT the key's record; COMMIT.
    with django_assert_num_queries(7 + 2 * POSTGRES):
        r = saga.post("/internal/v1/payments/void", {"order_id": str(uuid.uuid4())})
    assert r.status_code == 200
    assert r.json()["status"] == "VOIDED"

"""Pinned: the SQL statements of the inventory's saga commands, first call and replay.

Each is counted through the API, in a transactional test, as production runs it: BEGIN, the
Idempotency-Key's look-up, the effect, the key's INSERT, COMMIT. PostgreSQL adds the product row
locks and a savepoint around the INSERT of a reservation, which a concurrent transaction may beat.
"""

import uuid

import pytest
from django.db import connection

from chassis.idempotency.testing import assert_statements

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def two_lines(make_product) -> dict:
    make_product(sku="A", on_hand=10)
    make_product(sku="B", on_hand=10)
    return {
        "order_id": str(uuid.uuid4()),
        "items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}],
    }


def test_reserving_two_lines(saga, two_lines, django_assert_num_queries):
    reserve = lambda: saga.post("/internal/v1/reservations", two_lines, key="reserve")  # noqa: E731 (named: called twice, for the first call and the replay)
    # BEGIN; SELECT the key's record (none); SELECT both products (FOR UPDATE on PostgreSQL) and
    # whether the order has a reservation; INSERT the reservation (inside a SAVEPOINT on PostgreSQL:
    # +2); INSERT both lines; UPDATE both products; INSERT the RESERVED event; INSERT the key's
    # record with the answer; COMMIT.
    assert assert_statements(reserve, 9 + 2 * POSTGRES, django_assert_num_queries).status_code == 201


@pytest.mark.parametrize("command", ["commit", "release"])
def test_committing_or_releasing_two_lines(saga, two_lines, django_assert_num_queries, command):
    saga.post("/internal/v1/reservations", two_lines)
    path = f"/internal/v1/reservations/{two_lines['order_id']}/{command}"
    # BEGIN; SELECT the key's record (none); SELECT the lines with their reservation; on PostgreSQL,
    # SELECT both products FOR UPDATE (+1); UPDATE the reservation's status; UPDATE both products;
    # INSERT the event; INSERT the key's record with the answer; COMMIT.
    assert_statements(lambda: saga.post(path, key=command), 8 + POSTGRES, django_assert_num_queries)


def test_releasing_what_was_never_reserved(saga, django_assert_num_queries):
    # BEGIN; SELECT the key's record (none); SELECT the lines (none), then the reservation (none);
    # INSERT the RELEASED tombstone (inside a SAVEPOINT on PostgreSQL: +2); INSERT the event; INSERT
    # the key's record with the answer; COMMIT.
    with django_assert_num_queries(8 + 2 * POSTGRES):
        r = saga.post(f"/internal/v1/reservations/{uuid.uuid4()}/release")
    assert r.status_code == 200
    assert r.json()["status"] == "RELEASED"

"""Pinned: the statement counts of placing an order and of the saga's reports, first call and replay,
with BEGIN, COMMIT and the Idempotency-Key's look-up and INSERT counted (transactional tests,
through the API).
"""

import pytest
from django.db import connection

from chassis.idempotency.testing import assert_statements
from tests.factories import order_create

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = connection.vendor == "postgresql"
TWO_LINES = (("MUG", 1), ("BEANS", 2))
PRICED = {
    "lines": [
        {"sku": "MUG", "quantity": 1, "unit_price_cents": 1200},
        {"sku": "BEANS", "quantity": 2, "unit_price_cents": 900},
    ],
    "total_cents": 3000,
    "currency": "USD",
}


def test_placing_an_order_of_two_lines(customer, django_assert_num_queries):
    body = {"items": [{"sku": sku, "quantity": qty} for sku, qty in TWO_LINES]}
    place = lambda: customer("alice").post("/api/v1/orders", body, key="place")  # noqa: E731 (named: called twice, for the first call and the replay)
    # BEGIN; SELECT the key's record (none); INSERT the order; INSERT both lines; INSERT the outbox
    # record; on PostgreSQL, NOTIFY the relay (+1); INSERT the order.placed event; on PostgreSQL,
    # NOTIFY the publisher (+1); INSERT the key's record with the answer; COMMIT.
    assert assert_statements(place, 8 + 2 * POSTGRES, django_assert_num_queries).status_code == 202


@pytest.mark.parametrize(
    ("command", "body"),
    [
        ("confirm", PRICED),
        ("cancel", {"reason": "payment_declined", **PRICED}),
    ],
)
def test_the_sagas_report_of_a_priced_order(saga, django_assert_num_queries, command, body):
    order = order_create(items=TWO_LINES)
    report = lambda: saga.post(f"/internal/v1/orders/{order.id}/{command}", body, key=command)  # noqa: E731 (named: called twice, for the first call and the replay)
    # BEGIN; SELECT the key's record (none); SELECT the lines with their order; UPDATE the order's
    # status; UPDATE both lines' unit prices; INSERT the order's event; on PostgreSQL, NOTIFY the
    # publisher (+1); INSERT the key's record with the answer; COMMIT.
    assert_statements(report, 8 + POSTGRES, django_assert_num_queries)


def test_the_sagas_cancel_before_stock_was_priced(saga, django_assert_num_queries):
    order = order_create(items=TWO_LINES)
    # BEGIN; SELECT the key's record (none); SELECT the lines with their order; UPDATE the order's
    # status and reason; INSERT the order.cancelled event; on PostgreSQL, NOTIFY the publisher (+1);
    # INSERT the key's record with the answer; COMMIT.
    with django_assert_num_queries(7 + POSTGRES):
        r = saga.post(f"/internal/v1/orders/{order.id}/cancel", {"reason": "out_of_stock"})
    assert r.status_code == 200
    assert r.json()["status"] == "CANCELLED"

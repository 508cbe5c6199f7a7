"""order_svc records an integration event in the transaction of each change it makes, and only then:
order.placed with the order, order.confirmed and order.cancelled when the saga's report makes it
final (a repeat records nothing), order.cancel_requested when the saga first accepts a cancel."""

import pytest
from django.db import transaction
from orders import services
from orders.models import Order
from orders.saga_gateway import CancelRefused

from chassis.events.models import OutboxEvent
from saga_contract import CancelRefusal
from saga_contract.events import EventType
from tests.factories import order_create

pytestmark = pytest.mark.django_db

PRICED = [{"sku": "MUG", "quantity": 2, "unit_price_cents": 1200}]


def events() -> list[tuple[str, str, dict]]:
    return [(e.type, e.key, e.data) for e in OutboxEvent.objects.order_by("sequence")]


def test_placing_records_order_placed_with_the_order():
    order = services.order_place(customer_id="alice", items=[("MUG", 2), ("BEANS", 1)])

    assert events() == [
        (
            EventType.ORDER_PLACED,
            str(order.id),
            {
                "order_id": str(order.id),
                "customer_id": "alice",
                "items": [{"sku": "MUG", "quantity": 2}, {"sku": "BEANS", "quantity": 1}],
                "currency": "USD",
            },
        )
    ]


def test_a_placement_that_rolls_back_records_no_event():
    def place_then_fail() -> None:
        with transaction.atomic():
            services.order_place(customer_id="alice", items=[("MUG", 1)])
            raise RuntimeError("the caller's transaction fails after the placement")

    with pytest.raises(RuntimeError):
        place_then_fail()

    assert events() == []
    assert not Order.objects.exists()


def test_confirming_records_order_confirmed_once_with_lines_and_total():
    order = order_create(items=(("MUG", 2),))
    for _ in range(2):  # the saga's report, then its retry
        services.order_confirm(order_id=order.id, lines=PRICED, total_cents=2400, currency="USD")

    assert events() == [
        (
            EventType.ORDER_CONFIRMED,
            str(order.id),
            {
                "order_id": str(order.id),
                "customer_id": "alice",
                "lines": PRICED,
                "total_cents": 2400,
                "currency": "USD",
            },
        )
    ]


@pytest.mark.parametrize(
    ("priced", "total"), [(True, 2400), (False, None)], ids=["after-reservation", "before-reservation"]
)
def test_cancelling_records_order_cancelled_once_with_the_reason(priced, total):
    order = order_create(items=(("MUG", 2),))
    report = {"lines": PRICED, "total_cents": 2400, "currency": "USD"} if priced else {}
    for _ in range(2):
        services.order_cancel(order_id=order.id, reason="payment_declined", **report)

    assert events() == [
        (
            EventType.ORDER_CANCELLED,
            str(order.id),
            {
                "order_id": str(order.id),
                "customer_id": "alice",
                "reason": "payment_declined",
                "total_cents": total,
                "currency": "USD",
            },
        )
    ]


def test_the_first_accepted_cancel_request_records_order_cancel_requested(sagas):
    order = order_create(customer_id="bob", saga_started=True)
    for _ in range(2):
        services.order_request_cancel(order_id=order.id)

    assert events() == [
        (EventType.ORDER_CANCEL_REQUESTED, str(order.id), {"order_id": str(order.id), "customer_id": "bob"})
    ]
    assert Order.objects.get(id=order.id).cancel_requested_at is not None


def test_a_refused_cancel_request_records_nothing(sagas):
    order = order_create(saga_started=True)
    sagas.script(cancel=[CancelRefused(CancelRefusal.PIVOT_PASSED)])

    with pytest.raises(Exception, match="cancel"):
        services.order_request_cancel(order_id=order.id)

    assert events() == []


def test_operators_and_the_auditor_list_the_events_and_filter_them(operator, auditor, customer, saga):
    first = services.order_place(customer_id="alice", items=[("MUG", 1)])
    services.order_place(customer_id="bob", items=[("MUG", 1)])
    services.order_cancel(order_id=first.id, reason="out_of_stock")

    for caller in (operator, auditor):
        listed = caller.get("/api/v1/events").json()
        assert (listed["results"][0]["type"], listed["results"][0]["key"]) == ("order.placed", str(first.id))
        assert listed["count"] == 3
    waiting = operator.get("/api/v1/events", {"published": "false", "key": str(first.id)}).json()
    assert [e["type"] for e in waiting["results"]] == ["order.placed", "order.cancelled"]
    assert all(e["published_at"] is None for e in waiting["results"])
    assert operator.get("/api/v1/events", {"published": "true"}).json()["count"] == 0
    assert operator.get("/api/v1/events", {"type": "order.cancelled"}).json()["count"] == 1

    assert customer("alice").get("/api/v1/events").status_code == 403
    assert saga.get("/api/v1/events").status_code == 403
    assert operator.get("/api/v1/events", {"type": "order.shipped"}).status_code == 400
    assert operator.get("/api/v1/events", {"published": "perhaps"}).status_code == 400

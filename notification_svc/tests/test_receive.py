"""Receiving integration events: each event id is handled once (the inbox), order.confirmed and
order.cancelled each make one notification in the same transaction, every other type is only
recorded, and a notified event whose data cannot be read stores nothing."""

import uuid

import pytest
from django.db import IntegrityError
from notifications.models import InboxRecord, Notification
from notifications.services import notification_receive

from saga_contract.events import EventType, InvalidEnvelope
from tests.factories import TRACEPARENT, cancelled, confirmed, envelope, placed

pytestmark = pytest.mark.django_db


def stored():
    return (
        sorted(InboxRecord.objects.values_list("event_id", "type")),
        sorted(Notification.objects.values_list("event_id", "type", "status")),
    )


def test_the_same_event_twice_makes_one_notification():
    event = confirmed(customer_id="alice")

    assert notification_receive(event, trace_context={"traceparent": TRACEPARENT}) is True
    assert notification_receive(event, trace_context={"traceparent": TRACEPARENT}) is False

    notification = Notification.objects.get()
    assert str(notification.event_id) == event["id"]
    assert str(notification.order_id) == event["data"]["order_id"]
    assert notification.customer_id == "alice"
    assert notification.recipient == "alice@customers.invalid"
    assert notification.type == EventType.ORDER_CONFIRMED
    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 0
    assert InboxRecord.objects.count() == 1


def test_a_copy_of_an_event_in_another_message_is_dropped_too():
    """A republished event arrives with other headers, but the same id."""
    event = cancelled()
    assert notification_receive(event, trace_context={})
    assert not notification_receive(dict(event), trace_context={"traceparent": TRACEPARENT})
    assert Notification.objects.get().trace_context == {}


def test_a_cancelled_order_makes_a_notification():
    event = cancelled(reason="payment_declined", total_cents=1200)
    assert notification_receive(event, trace_context={})
    notification = Notification.objects.get()
    assert notification.type == EventType.ORDER_CANCELLED
    assert "The payment was declined." in notification.body_text


@pytest.mark.parametrize(
    "event",
    [
        placed(),
        envelope(EventType.ORDER_CANCEL_REQUESTED, {"order_id": str(uuid.uuid4()), "customer_id": "alice"}),
        envelope(
            EventType.PAYMENT_CAPTURED,
            {
                "payment_id": str(uuid.uuid4()),
                "order_id": str(uuid.uuid4()),
                "customer_id": "alice",
                "amount_cents": 100,
                "currency": "USD",
            },
        ),
        envelope(EventType.STOCK_LOW, {"sku": "MUG", "available": 1, "threshold": 5}),
    ],
    ids=lambda event: event["type"],
)
def test_other_events_are_recorded_and_make_no_notification(event):
    assert notification_receive(event, trace_context={}) is True
    assert notification_receive(event, trace_context={}) is False

    assert list(InboxRecord.objects.values_list("type", flat=True)) == [event["type"]]
    assert not Notification.objects.exists()


def test_only_the_trace_headers_of_the_message_are_kept():
    event = confirmed()
    notification_receive(
        event, trace_context={"traceparent": TRACEPARENT, "tracestate": "shop=1", "x-private": "secret"}
    )
    assert Notification.objects.get().trace_context == {"traceparent": TRACEPARENT, "tracestate": "shop=1"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"order_id": "not-a-uuid"}, "order_id"),
        ({"order_id": None}, "order_id"),
        ({"customer_id": "alice bob"}, "customer_id"),
        ({"customer_id": 7}, "customer_id"),
        ({"currency": "usd"}, "currency"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "MUG", "quantity": 0, "unit_price_cents": 1}]}, "line"),
        ({"lines": [{"sku": "MUG", "quantity": True}]}, "line"),
        ({"lines": [{"sku": "MUG", "quantity": 1, "unit_price_cents": -1}]}, "line"),
        ({"lines": ["MUG"]}, "line"),
        ({"total_cents": "4990"}, "total_cents"),
        ({"total_cents": -1}, "total_cents"),
    ],
)
def test_a_confirmed_event_whose_data_cannot_be_read_is_refused_and_stores_nothing(change, problem):
    event = confirmed()
    event["data"].update(change)
    with pytest.raises(InvalidEnvelope, match=problem):
        notification_receive(event, trace_context={})
    assert stored() == ([], [])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"reason": None}, "reason"),
        ({"total_cents": 12.5}, "total_cents"),
        ({"customer_id": ""}, "customer_id"),
    ],
)
def test_a_cancelled_event_whose_data_cannot_be_read_is_refused_and_stores_nothing(change, problem):
    event = cancelled()
    event["data"].update(change)
    with pytest.raises(InvalidEnvelope, match=problem):
        notification_receive(event, trace_context={})
    assert stored() == ([], [])


def test_the_inbox_record_and_the_notification_are_written_together_or_not_at_all():
    """The notification cannot be written (a row with its event id is in the way, which the inbox
    otherwise prevents): the inbox record is not kept either, so a retry handles the event again."""
    event = confirmed()
    Notification.objects.create(
        event_id=event["id"],
        type=EventType.ORDER_CONFIRMED,
        customer_id="alice",
        order_id=uuid.uuid4(),
        recipient="alice@customers.invalid",
        subject="x",
        body_text="x",
        body_html="x",
    )

    with pytest.raises(IntegrityError):
        notification_receive(event, trace_context={})

    assert not InboxRecord.objects.exists()

"""Test data: integration events as the publishers send them, the notifications they make, and the
registrations that tell a customer's email address."""

from __future__ import annotations

import uuid

from notifications.models import Notification
from notifications.services import notification_receive

from saga_contract.events import EVENT_VERSION, SOURCES, Envelope, EventType

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
LINES = [
    {"sku": "BEANS-1KG", "quantity": 2, "unit_price_cents": 1890},
    {"sku": "MUG-CERAMIC", "quantity": 1, "unit_price_cents": 1210},
]


def envelope(event_type: EventType, data: dict, *, event_id: uuid.UUID | None = None) -> Envelope:
    return {
        "id": str(event_id or uuid.uuid4()),
        "type": event_type,
        "version": EVENT_VERSION,
        "key": data.get("order_id") or data.get("sku") or data.get("customer_id", ""),
        "source": SOURCES[event_type],
        "occurred_at": "2026-01-02T03:04:05.000006+00:00",
        "data": data,
    }


def confirmed(
    *, order_id: uuid.UUID | None = None, customer_id: str = "alice", lines=None, total_cents: int = 4990
) -> Envelope:
    return envelope(
        EventType.ORDER_CONFIRMED,
        {
            "order_id": str(order_id or uuid.uuid4()),
            "customer_id": customer_id,
            "lines": LINES if lines is None else lines,
            "total_cents": total_cents,
            "currency": "USD",
        },
    )


def cancelled(
    *,
    order_id: uuid.UUID | None = None,
    customer_id: str = "alice",
    reason: str = "out_of_stock",
    total_cents: int | None = None,
) -> Envelope:
    return envelope(
        EventType.ORDER_CANCELLED,
        {
            "order_id": str(order_id or uuid.uuid4()),
            "customer_id": customer_id,
            "reason": reason,
            "total_cents": total_cents,
            "currency": "USD",
        },
    )


def placed(*, customer_id: str = "alice") -> Envelope:
    return envelope(
        EventType.ORDER_PLACED,
        {
            "order_id": str(uuid.uuid4()),
            "customer_id": customer_id,
            "items": [{"sku": "MUG-CERAMIC", "quantity": 1}],
            "currency": "USD",
        },
    )


def registered(*, customer_id: str = "alice", email: str = "alice.smith@example.com") -> Envelope:
    return envelope(EventType.CUSTOMER_REGISTERED, {"customer_id": customer_id, "email": email})


def notification_create(event: Envelope | None = None, *, traceparent: str = TRACEPARENT) -> Notification:
    """The notification an event makes (an order.confirmed of alice's unless given), received as the
    consumer would receive it."""
    event = event or confirmed()
    assert notification_receive(event, trace_context={"traceparent": traceparent})
    return Notification.objects.get(event_id=event["id"])

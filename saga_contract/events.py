"""The integration events, defined once: what the services publish and what their consumers read.

A service records an event in the same database transaction as the change it reports (its events
outbox, chassis.events); its publisher relays it to the broker, to the service's topic exchange
(`EXCHANGES`), with the event's type as the routing key. The message body is an `Envelope` in JSON;
the trace context travels in the message headers (`traceparent`, `tracestate`). docs/asyncapi.yaml
describes every channel and body, and a test holds what is published to it.

Delivery is at least once: a publisher that dies between the broker's confirm and marking the event
published sends it again after a restart. Consumers make a second copy harmless, by the ids they have
handled (an inbox) or by a key of their own. Per key (an order's id, a SKU, a customer's id) the events
are published in the order they were recorded.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, TypedDict

from saga_contract import CUSTOMER_ID_PATTERN


class EventType(StrEnum):
    ORDER_PLACED = "order.placed"
    ORDER_CONFIRMED = "order.confirmed"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_CANCEL_REQUESTED = "order.cancel_requested"
    PAYMENT_CAPTURED = "payment.captured"
    PAYMENT_VOIDED = "payment.voided"
    STOCK_LOW = "stock.low"
    CUSTOMER_REGISTERED = "identity.customer_registered"


EVENT_VERSION = 1
"""The version of every event's `data` today. A change a consumer could misread is a new version,
published beside the old one until no consumer reads the old."""

EXCHANGES = {
    "order_svc": "order.events",
    "payment_svc": "payment.events",
    "inventory_svc": "inventory.events",
    "identity_svc": "identity.events",
}
"""Each service's topic exchange: durable, routing key = event type."""

_PREFIXES = {
    "order.": "order_svc",
    "payment.": "payment_svc",
    "stock.": "inventory_svc",
    "identity.": "identity_svc",
}
SOURCES = {
    event_type: service
    for event_type in EventType
    for prefix, service in _PREFIXES.items()
    if event_type.startswith(prefix)
}
"""The service that publishes each event type."""

NOTIFICATION_QUEUE = "notification.order-events"
"""notification_svc's queue: durable (a quorum queue on RabbitMQ), bound to the events QUEUE_BINDINGS
lists for it. It carries the order events that make a notification, and the registrations that tell
the service a customer's email address."""
NOTIFIED_EVENTS = (EventType.ORDER_CONFIRMED, EventType.ORDER_CANCELLED)
"""The events that make a notification to the order's customer."""
PAYMENT_QUEUE = "payment.identity-events"
"""payment_svc's queue: durable (a quorum queue on RabbitMQ), bound to the events QUEUE_BINDINGS lists
for it. A registration opens the customer's account."""
QUEUE_BINDINGS: dict[str, tuple[EventType, ...]] = {
    NOTIFICATION_QUEUE: (*NOTIFIED_EVENTS, EventType.CUSTOMER_REGISTERED),
    PAYMENT_QUEUE: (EventType.CUSTOMER_REGISTERED,),
}
"""Every consumer's queue and the event types bound to it, each on its publisher's exchange."""
DEAD_LETTER_EXCHANGE = "notification.dead-letter"
DEAD_LETTER_QUEUE = "notification.dead-letter"
"""Where a message that failed MAX_HANDLING_FAILURES times on any queue of QUEUE_BINDINGS goes, with
why in its headers (`x-first-queue` names the queue it failed on). notification_svc was its first
user, hence the name; the alerts and the chaos runs watch it under that name."""
MAX_HANDLING_FAILURES = 5
"""A consumer hands a message over to the dead-letter queue after this many failed handlings."""
BROKER_DELIVERY_LIMIT = 20
"""The broker's own limit (a quorum queue's `x-delivery-limit`): a message redelivered this often,
for instance because each delivery crashed its consumer, is dead-lettered by the broker itself."""

TRACE_HEADERS = ("traceparent", "tracestate")

EMAIL_PATTERN = r"[^@\sA-Z]{1,64}@[^@\sA-Z]+\.[^@\sA-Z]+"
"""A normalised email address as the consumers accept it (lower-case, one `@`, a dot in the domain);
match it whole. MAX_EMAIL_LENGTH bounds the whole address."""
MAX_EMAIL_LENGTH = 254

_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)
_EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Envelope(TypedDict):
    """A message's body: the event's identity and its `data`."""

    id: str  # a UUID: the consumers' dedupe key
    type: str  # an EventType
    version: int
    key: str  # what orders the events: the order's id, a SKU, or a customer's id
    source: str  # the publishing service
    occurred_at: str  # ISO 8601 with its offset (UTC): when the change was made, in its transaction
    data: dict[str, Any]


class OrderItemData(TypedDict):
    sku: str
    quantity: int


class PricedLineData(TypedDict):
    sku: str
    quantity: int
    unit_price_cents: int


class OrderPlacedData(TypedDict):
    order_id: str
    customer_id: str
    items: list[OrderItemData]
    currency: str


class OrderConfirmedData(TypedDict):
    order_id: str
    customer_id: str
    lines: list[PricedLineData]
    total_cents: int
    currency: str


class OrderCancelledData(TypedDict):
    order_id: str
    customer_id: str
    reason: str  # a CancellationReason
    total_cents: int | None  # known once stock was reserved
    currency: str


class OrderCancelRequestedData(TypedDict):
    order_id: str
    customer_id: str


class PaymentData(TypedDict):
    """payment.captured and payment.voided."""

    payment_id: str
    order_id: str
    customer_id: str
    amount_cents: int
    currency: str


class StockLowData(TypedDict):
    sku: str
    available: int
    threshold: int


class CustomerRegisteredData(TypedDict):
    customer_id: str  # also the envelope's key
    email: str  # normalised: lower-case, without spaces


class InvalidEnvelope(ValueError):
    """A message body that is not an Envelope this consumer can read."""


def parse_envelope(body: object) -> Envelope:
    """The envelope of a decoded message body, its fields checked; InvalidEnvelope if not one."""
    if not isinstance(body, dict):
        raise InvalidEnvelope("the body is not a JSON object")
    fields = {
        "id": str,
        "type": str,
        "version": int,
        "key": str,
        "source": str,
        "occurred_at": str,
        "data": dict,
    }
    for name, kind in fields.items():
        if not isinstance(body.get(name), kind) or isinstance(body.get(name), bool):
            raise InvalidEnvelope(f"{name} is missing or not a {kind.__name__}")
    if not _EVENT_ID.fullmatch(body["id"]):
        raise InvalidEnvelope("id is not a lower-case UUID")
    if body["type"] not in set(EventType):
        raise InvalidEnvelope(f"unknown event type {body['type']!r}")
    if body["version"] != EVENT_VERSION:
        raise InvalidEnvelope(f"version {body['version']} of {body['type']} is not one this consumer reads")
    envelope: Envelope = {name: body[name] for name in fields}  # type: ignore[assignment]  # mypy types no TypedDict built by a comprehension
    return envelope


def customer_registered_data(envelope: Envelope) -> CustomerRegisteredData:
    """The data of an identity.customer_registered envelope, checked: a customer's id that is also the
    envelope's key, and a normalised email address. Raises InvalidEnvelope if it is not that; other
    fields of `data` are left out of the result."""
    if envelope["type"] != EventType.CUSTOMER_REGISTERED:
        raise InvalidEnvelope(f"{envelope['type']} is not {EventType.CUSTOMER_REGISTERED}")
    data = envelope["data"]
    customer_id, email = data.get("customer_id"), data.get("email")
    if not isinstance(customer_id, str) or not _CUSTOMER_ID.fullmatch(customer_id):
        raise InvalidEnvelope("data: customer_id must be a customer's id")
    if customer_id != envelope["key"]:
        raise InvalidEnvelope("data: customer_id must be the envelope's key")
    if (
        not isinstance(email, str)
        or len(email) > MAX_EMAIL_LENGTH
        or email != email.lower()
        or not _EMAIL.fullmatch(email)
    ):
        raise InvalidEnvelope("data: email must be a normalised (lower-case) email address")
    return {"customer_id": customer_id, "email": email}

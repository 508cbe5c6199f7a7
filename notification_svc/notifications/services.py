"""Order events and registrations in, emails out.

`notification_receive` records an event in the inbox and, for the events customers hear about, the
notification it makes, or for a registration the customer's email address, in one transaction and
once per event id. `notification_send_due` claims due notifications one at a time with a short lease,
sends each with no transaction open, and records the outcome: SENT, or a failed attempt tried again
later with backoff. A notification is never given up.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from opentelemetry import propagate, trace

from chassis.backoff import jittered_backoff
from notifications.emails import email_message, order_cancelled_email, order_confirmed_email, recipient_of
from notifications.models import CustomerContact, InboxRecord, Notification
from observability.logs import log_context
from saga_contract import CUSTOMER_ID_PATTERN, workflow_id
from saga_contract.events import (
    NOTIFIED_EVENTS,
    TRACE_HEADERS,
    CustomerRegisteredData,
    Envelope,
    EventType,
    InvalidEnvelope,
    OrderCancelledData,
    OrderConfirmedData,
    customer_registered_data,
)

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

MAX_ERROR_LENGTH = 2000
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)
_CURRENCY = re.compile(r"[A-Z]{3}")


def notification_receive(envelope: Envelope, *, trace_context: dict[str, str]) -> bool:
    """Store the event in the inbox (keyed by its id) and, in the same transaction, create the
    notification of an order.confirmed or order.cancelled, or store the email address an
    identity.customer_registered tells.

    Returns False when the event's id is already in the inbox (a redelivered or duplicated message:
    nothing happens a second time), True otherwise. Other event types are recorded in the inbox and
    otherwise ignored. `trace_context` is the message's W3C trace headers, kept so that the send joins
    the order's trace. Raises InvalidEnvelope when the data of an event this service acts on cannot be
    read (retrying will not help), and database errors as they come (the caller retries).
    """
    event_id = uuid.UUID(envelope["id"])
    notification = _notification_of(envelope, trace_context) if envelope["type"] in NOTIFIED_EVENTS else None
    contact = (
        customer_registered_data(envelope) if envelope["type"] == EventType.CUSTOMER_REGISTERED else None
    )
    try:
        with transaction.atomic():
            InboxRecord.objects.create(event_id=event_id, type=envelope["type"])
            if notification is not None:
                notification.save(force_insert=True)
            if contact is not None:
                _contact_store(contact)
    except IntegrityError:
        if InboxRecord.objects.filter(event_id=event_id).exists():
            logger.info(
                "event already received",
                extra={"fields": {"event_id": str(event_id), "event_type": envelope["type"]}},
            )
            return False
        raise
    return True


def _contact_store(contact: CustomerRegisteredData) -> None:
    """Keep the customer's email address for the notifications made from now on. Those made before it
    keep the recipient they were made with."""
    CustomerContact.objects.update_or_create(
        customer_id=contact["customer_id"], defaults={"email": contact["email"]}
    )
    logger.info("customer contact stored", extra={"fields": {"customer_id": contact["customer_id"]}})


def notification_send_due(*, limit: int = 20) -> int:
    """Send up to `limit` notifications whose next attempt is due, oldest due first; the number sent.

    Each is claimed first with a lease of NOTIFICATION_LEASE_SECONDS, so that two senders never send
    the same notification at once, then sent through Django's email backend with no transaction open,
    as a span of its order's trace. It is marked SENT right after the backend accepted it. A failed
    send counts the attempt, keeps its error and is tried again after NOTIFICATION_RETRY_FIRST_SECONDS,
    doubling per failure up to NOTIFICATION_RETRY_MAX_SECONDS (with jitter), for as long as it takes.

    Delivery is at least once. If the process dies after the SMTP server accepted an email but before
    SENT is committed, the notification is sent again once its lease lapses. Every send of a
    notification carries the same Message-ID header (notifications.emails.message_id), so the
    receiving side can recognise the second copy and drop it.
    """
    sent = 0
    # A plain read before each claim: a claim takes the database's write lock, and the one that finds
    # nothing would cost as much as the send before it.
    for _ in range(limit):
        if not _any_due():
            break
        claim = notification_claim_next(lease_seconds=settings.NOTIFICATION_LEASE_SECONDS)
        if claim is None:
            break
        if _send(claim):
            sent += 1
    return sent


@dataclass(frozen=True)
class Claim:
    """A notification held by one sender until `lease_until` (its next_attempt_at meanwhile)."""

    notification: Notification
    lease_until: datetime


def notification_claim_next(*, lease_seconds: float) -> Claim | None:
    """Claim the pending notification that fell due first, if any: its next attempt moves
    `lease_seconds` ahead, so other senders skip it until the lease lapses. On PostgreSQL a claim
    skips the rows another sender is claiming; SQLite lets one writer in at a time."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=lease_seconds)
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .first()
        )
        if notification is None:
            return None
        Notification.objects.filter(pk=notification.pk).update(next_attempt_at=lease_until)
    notification.next_attempt_at = lease_until
    return Claim(notification, lease_until)


def retry_delay(*, failures: int) -> timedelta:
    """NOTIFICATION_RETRY_FIRST_SECONDS, doubling per failure up to NOTIFICATION_RETRY_MAX_SECONDS,
    jittered down by up to half so that notifications that failed together do not retry together."""
    return timedelta(
        seconds=jittered_backoff(
            failures,
            first=settings.NOTIFICATION_RETRY_FIRST_SECONDS,
            ceiling=settings.NOTIFICATION_RETRY_MAX_SECONDS,
        )
    )


class EmailNotAccepted(Exception):
    """The email backend returned without accepting the message."""


def _any_due() -> bool:
    """Whether a notification is due: a plain read, so that an idle sender's poll never takes the
    database's write lock."""
    return Notification.objects.filter(
        status=Notification.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).exists()


def _send(claim: Claim) -> bool:
    """Send a claimed notification and record the outcome; whether it was sent."""
    notification = claim.notification
    order_id = str(notification.order_id)
    fields = {"notification_id": str(notification.id), "attempt": notification.attempts + 1}
    with (
        tracer.start_as_current_span(
            "notification: send email",
            context=propagate.extract(notification.trace_context or {}),
            kind=trace.SpanKind.CLIENT,
            attributes={
                "saga.order_id": order_id,
                "notification.id": str(notification.id),
                "notification.type": notification.type,
                "notification.attempt": notification.attempts + 1,
            },
        ) as span,
        log_context(order_id=order_id, workflow_id=workflow_id(notification.order_id)),
    ):
        try:
            if email_message(notification).send() != 1:
                raise EmailNotAccepted("the email backend accepted no message")
        except Exception as error:  # whatever the backend raised: the SMTP server, the network, a file
            message = f"{type(error).__name__}: {error}"
            span.record_exception(error)
            span.set_status(trace.Status(trace.StatusCode.ERROR, message))
            delay = _retry_later(claim, error=message)
            logger.warning(
                "notification not sent; retrying later",
                extra={"fields": {**fields, "error": message, "retry_in_s": round(delay.total_seconds(), 3)}},
            )
            return False
        _mark_sent(notification)
        logger.info("notification sent", extra={"fields": fields})
        return True


def _mark_sent(notification: Notification) -> None:
    """The backend accepted the email: the notification is done (a second mark changes nothing)."""
    Notification.objects.filter(pk=notification.pk, status=Notification.Status.PENDING).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1
    )


def _retry_later(claim: Claim, *, error: str) -> timedelta:
    """The send failed: count the attempt, keep why, and schedule the next one (backoff by the failures
    so far). A sender whose lease lapsed meanwhile changes nothing: the notification is another's now."""
    delay = retry_delay(failures=claim.notification.attempts + 1)
    Notification.objects.filter(
        pk=claim.notification.pk, status=Notification.Status.PENDING, next_attempt_at=claim.lease_until
    ).update(
        attempts=F("attempts") + 1,
        last_error=error[:MAX_ERROR_LENGTH],
        next_attempt_at=timezone.now() + delay,
    )
    return delay


# --- reading the event ---


def _notification_of(envelope: Envelope, trace_context: dict[str, str]) -> Notification:
    """The notification an order.confirmed or order.cancelled event makes (not saved)."""
    data = envelope["data"]
    if envelope["type"] == EventType.ORDER_CONFIRMED:
        email = order_confirmed_email(_confirmed_data(data))
    else:
        email = order_cancelled_email(_cancelled_data(data))
    return Notification(
        event_id=uuid.UUID(envelope["id"]),
        type=envelope["type"],
        customer_id=data["customer_id"],
        order_id=uuid.UUID(data["order_id"]),
        recipient=recipient_of(data["customer_id"]),
        subject=email.subject,
        body_text=email.text,
        body_html=email.html,
        trace_context={
            name: value
            for name, value in trace_context.items()
            if name in TRACE_HEADERS and isinstance(value, str)
        },
    )


def _confirmed_data(data: dict[str, Any]) -> OrderConfirmedData:
    _check_order(data)
    lines = data.get("lines")
    _check(isinstance(lines, list) and len(lines) > 0, "lines must be a list of at least one line")
    for line in cast(list[Any], lines):
        _check(
            isinstance(line, dict)
            and isinstance(line.get("sku"), str)
            and _is_count(line.get("quantity"), minimum=1)
            and ("unit_price_cents" not in line or _is_count(line["unit_price_cents"])),
            "each line needs a sku, a quantity of at least 1 and, if any, a unit_price_cents of at least 0",
        )
    _check(_is_count(data.get("total_cents")), "total_cents must be a whole number of cents, at least 0")
    return cast(OrderConfirmedData, data)


def _cancelled_data(data: dict[str, Any]) -> OrderCancelledData:
    _check_order(data)
    _check(isinstance(data.get("reason"), str), "reason must be a string")
    total = data.get("total_cents")
    _check(
        total is None or _is_count(total), "total_cents must be null or a whole number of cents, at least 0"
    )
    return cast(OrderCancelledData, data)


def _check_order(data: dict[str, Any]) -> None:
    order_id, customer_id, currency = data.get("order_id"), data.get("customer_id"), data.get("currency")
    _check(isinstance(order_id, str) and _is_uuid(order_id), "order_id must be a UUID")
    _check(
        isinstance(customer_id, str) and _CUSTOMER_ID.fullmatch(customer_id) is not None,
        "customer_id must be a customer's id",
    )
    _check(
        isinstance(currency, str) and _CURRENCY.fullmatch(currency) is not None, "currency must be ISO 4217"
    )


def _check(condition: bool, problem: str) -> None:
    if not condition:
        raise InvalidEnvelope(f"data: {problem}")


def _is_count(value: object, *, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True

"""What a notification says and to whom: its subject and bodies, rendered from an order event's data
with the app's templates (HTML auto-escaped), its recipient, and the email message sent for it.

Nothing here writes to the database or sends anything; only recipient_of reads, the customer's stored
address.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from notifications.selectors import contact_email_of
from saga_contract import CancellationReason, format_money
from saga_contract.events import OrderCancelledData, OrderConfirmedData

if TYPE_CHECKING:
    from notifications.models import Notification

REASONS: dict[str, str] = {
    CancellationReason.UNKNOWN_SKU: "One of the products you ordered is not in our catalog.",
    CancellationReason.OUT_OF_STOCK: "We did not have enough stock for everything you ordered.",
    CancellationReason.PAYMENT_DECLINED: "The payment was declined.",
    CancellationReason.CUSTOMER_CANCELLED: "It was cancelled at your request.",
    CancellationReason.TIMED_OUT: "We could not complete it in time.",
}
"""Each cancellation reason in plain words, as the customer reads it."""
UNKNOWN_REASON = "We could not complete it."
"""The words for a reason this service does not know yet (a newer publisher): the customer still learns
that the order was cancelled."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def recipient_of(customer_id: str) -> str:
    """The address a customer's notifications go to: the one identity_svc registered for the customer
    (a CustomerContact), or else an address of the customer's own under NOTIFICATION_RECIPIENT_DOMAIN.
    A customer id may hold characters an address must quote (`@`); Address quotes them.
    """
    registered = contact_email_of(customer_id)
    if registered is not None:
        return registered
    return Address(username=customer_id, domain=settings.NOTIFICATION_RECIPIENT_DOMAIN).addr_spec


def order_confirmed_email(data: OrderConfirmedData) -> RenderedEmail:
    currency = data["currency"]
    lines = [
        {
            "sku": line["sku"],
            "quantity": line["quantity"],
            "unit_price": _money(line.get("unit_price_cents"), currency),
            "amount": _money(_times(line.get("unit_price_cents"), line["quantity"]), currency),
        }
        for line in data["lines"]
    ]
    return _render(
        "order_confirmed",
        {"order_id": data["order_id"], "lines": lines, "total": format_money(data["total_cents"], currency)},
    )


def order_cancelled_email(data: OrderCancelledData) -> RenderedEmail:
    return _render(
        "order_cancelled",
        {
            "order_id": data["order_id"],
            "reason": REASONS.get(data["reason"], UNKNOWN_REASON),
            "total": _money(data["total_cents"], data["currency"]),
        },
    )


def message_id(notification: Notification) -> str:
    """The email's Message-ID, the same on every send of the notification: a send repeated after a
    crash (see notification_send_due) carries the same id, so the receiving side can drop it."""
    return f"<{notification.id}@notification_svc.saga>"


def email_message(notification: Notification) -> EmailMultiAlternatives:
    """The email of a notification: plain text with an HTML alternative, and headers naming the
    notification, its order and the event it tells of."""
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={
            "Message-ID": message_id(notification),
            "X-Order-Id": str(notification.order_id),
            "X-Event-Id": str(notification.event_id),
        },
    )
    message.attach_alternative(notification.body_html, "text/html")
    return message


def _render(name: str, context: dict[str, Any]) -> RenderedEmail:
    subject = render_to_string(f"notifications/{name}_subject.txt", context)
    return RenderedEmail(
        # One line whatever the template's layout: a header cannot hold a line break.
        subject=" ".join(subject.split()),
        text=render_to_string(f"notifications/{name}.txt", context),
        html=render_to_string(f"notifications/{name}.html", context),
    )


def _money(cents: int | None, currency: str) -> str | None:
    return None if cents is None else format_money(cents, currency)


def _times(cents: int | None, quantity: int) -> int | None:
    return None if cents is None else cents * quantity

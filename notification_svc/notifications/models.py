"""The inbox of integration events this service has handled, the emails it owes customers, and the
customers' email addresses.

An event is handled once: its id goes into the inbox in the same transaction as the notification or
the contact it makes, so a redelivered copy finds its id there and changes nothing. A notification
stays PENDING until the email backend has accepted its email; the sender retries it, with backoff,
until then.
"""

import uuid

from django.db import models
from django.utils import timezone

from saga_contract.events import EventType


class InboxRecord(models.Model):
    """One integration event received, whatever its type: the key that makes handling idempotent."""

    event_id = models.UUIDField(primary_key=True, editable=False)
    type = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Notification(models.Model):
    """An email about an order, to its customer.

    `next_attempt_at` is when a sender may try next: at once for a new notification, later after a
    failed send (backoff) or while a sender holds it (a short lease). `attempts` counts the sends
    tried, the successful one included.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING"
        SENT = "SENT"

    class Type(models.TextChoices):
        ORDER_CONFIRMED = EventType.ORDER_CONFIRMED
        ORDER_CANCELLED = EventType.ORDER_CANCELLED

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_id = models.UUIDField(unique=True, help_text="The integration event this notification tells of.")
    type = models.CharField(max_length=32, choices=Type.choices)
    customer_id = models.CharField(max_length=64)
    order_id = models.UUIDField(db_index=True)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Sends tried, the successful one included.")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    trace_context = models.JSONField(
        default=dict,
        blank=True,
        help_text="The event message's W3C trace headers: the send is a span of the order's trace.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sender's only question: which pending notifications are due? Sent ones drop out.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="PENDING"),
                name="notification_due_idx",
            ),
            # A customer's own notifications, newest first.
            models.Index(fields=["customer_id", "-created_at"], name="notification_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.order_id} {self.status}"


class CustomerContact(models.Model):
    """A customer's email address, as identity_svc's registration told it. A customer without one is
    mailed at an address of its own under NOTIFICATION_RECIPIENT_DOMAIN (notifications.emails)."""

    customer_id = models.CharField(max_length=64, unique=True)
    email = models.CharField(max_length=254, help_text="Normalised (lower-case) by identity_svc.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id"]

    def __str__(self) -> str:
        return self.customer_id

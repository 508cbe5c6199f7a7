"""The events outbox: each integration event a service records, until its publisher has seen the
broker confirm it."""

from __future__ import annotations

from django.db import models


class OutboxEvent(models.Model):
    """One event, recorded in the transaction of the change it reports.

    `sequence` is the order of publication: the publisher relays the unpublished events oldest first
    and stops at the first it cannot publish, so the events of one key reach the broker in the order
    they were recorded. `published_at` stays empty until the broker has confirmed the message.
    """

    sequence = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, help_text="The envelope's id: the consumers' dedupe key.")
    type = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=64, help_text="What orders the events: an order's id, a SKU.")
    occurred_at = models.DateTimeField()
    data = models.JSONField()
    trace_context = models.JSONField(default=dict, blank=True, help_text="W3C trace context of the change.")
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Publications tried, the confirmed one included."
    )
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["sequence"]
        indexes = [
            # The publisher's only question: which events are not published yet, oldest first?
            models.Index(
                fields=["sequence"],
                condition=models.Q(published_at__isnull=True),
                name="events_unpublished_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.key} {'published' if self.published_at else 'waiting'}"

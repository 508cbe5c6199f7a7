"""Orders, their lines, and the outbox record that has each order's saga started.

An order is PENDING until its saga confirms or cancels it. The outbox record is written in the
same transaction as the order; the relay (orders.relay) starts the saga from it after commit.
"""

import uuid

from django.db import models

import saga_contract


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = saga_contract.OrderStatus.PENDING
        CONFIRMED = saga_contract.OrderStatus.CONFIRMED
        CANCELLED = saga_contract.OrderStatus.CANCELLED

    class CancellationReason(models.TextChoices):
        UNKNOWN_SKU = saga_contract.CancellationReason.UNKNOWN_SKU
        OUT_OF_STOCK = saga_contract.CancellationReason.OUT_OF_STOCK
        PAYMENT_DECLINED = saga_contract.CancellationReason.PAYMENT_DECLINED
        CUSTOMER_CANCELLED = saga_contract.CancellationReason.CUSTOMER_CANCELLED
        TIMED_OUT = saga_contract.CancellationReason.TIMED_OUT

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer_id = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    cancellation_reason = models.CharField(  # noqa: DJ001 (the API has always shown "no reason" as null)
        max_length=32, choices=CancellationReason.choices, null=True, blank=True
    )
    total_cents = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Known once stock is reserved."
    )
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancel_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When the saga first accepted a cancel request."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    @property
    def workflow_id(self) -> str:
        return saga_contract.workflow_id(self.id)

    @property
    def is_final(self) -> bool:
        return self.status != self.Status.PENDING


class OrderLine(models.Model):
    order = models.ForeignKey(Order, related_name="items", on_delete=models.CASCADE)
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Snapshot taken at reservation."
    )

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order", "sku"], name="order_line_unique_sku")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.sku} × {self.quantity}"


OUTBOX_CHANNEL = "saga_outbox"
"""What a placement wakes the relay on (chassis.wakeups)."""


class OutboxRecord(models.Model):
    """An order's saga, to be started: its input, written with the order (its workflow id follows
    from the order's).

    `started_at` stays empty until a relay has seen Temporal accept the start (or say the workflow
    exists already). `next_attempt_at` is when a relay may try next: now for a new record, later
    after a failed attempt (backoff) or while another relay holds it (a short lease).
    """

    order = models.OneToOneField(Order, related_name="outbox", on_delete=models.CASCADE)
    payload = models.JSONField(
        help_text="saga_contract.OrderSagaInput(...).as_payload(): the workflow's input."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Start calls made, the successful one included."
    )
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    trace_context = models.JSONField(
        default=dict,
        blank=True,
        help_text="The placement's W3C trace context (traceparent), so the saga's spans join its trace.",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The relay's only question: which unstarted records are due? Started ones drop out.
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(started_at__isnull=True), name="outbox_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} {'started' if self.started_at else 'pending'}"

    @property
    def workflow_id(self) -> str:
        return saga_contract.workflow_id(self.order_id)

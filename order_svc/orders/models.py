"""Orders and their lines. An order is PENDING until its saga confirms or cancels it."""

import uuid

from django.db import models


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        CONFIRMED = "CONFIRMED"
        CANCELLED = "CANCELLED"

    class CancellationReason(models.TextChoices):
        UNKNOWN_SKU = "unknown_sku"
        OUT_OF_STOCK = "out_of_stock"
        PAYMENT_DECLINED = "payment_declined"
        CUSTOMER_CANCELLED = "customer_cancelled"
        TIMED_OUT = "timed_out"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer_id = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    cancellation_reason = models.CharField(max_length=32, choices=CancellationReason.choices, null=True, blank=True)
    total_cents = models.PositiveBigIntegerField(null=True, blank=True, help_text="Known once stock is reserved.")
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def workflow_id(self) -> str:
        return f"order-{self.id}"

    @property
    def is_final(self) -> bool:
        return self.status != self.Status.PENDING

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, related_name="items", on_delete=models.CASCADE)
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.PositiveIntegerField(null=True, blank=True, help_text="Snapshot taken at reservation.")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order", "sku"], name="order_line_unique_sku")]

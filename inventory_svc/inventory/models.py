"""Products, per-order reservations and the ledger of their events. State changes live in services.py."""

from django.db import models
from django.db.models import F, Q


class Product(models.Model):
    sku = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200)
    price_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    on_hand = models.PositiveIntegerField()
    reserved = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(help_text="All stock ever received: at creation and by restocks.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="product_reserved_lte_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return self.sku

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Reservation(models.Model):
    """One per order: RESERVED → COMMITTED | RELEASED. A RELEASED row is also the tombstone."""

    class Status(models.TextChoices):
        RESERVED = "RESERVED"
        COMMITTED = "COMMITTED"
        RELEASED = "RELEASED"

    order_id = models.UUIDField(primary_key=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    total_cents = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "order_id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status}"


class ReservationLine(models.Model):
    reservation = models.ForeignKey(Reservation, related_name="lines", on_delete=models.CASCADE)
    product = models.ForeignKey(Product, related_name="+", on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.PositiveIntegerField()

    class Meta:
        ordering = ["product_id"]
        constraints = [
            models.UniqueConstraint(fields=["reservation", "product"], name="reservation_line_unique_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.reservation_id} {self.product_id} × {self.quantity}"


class ReservationEvent(models.Model):
    """Append-only: one row per real transition of a reservation, written in the transition's transaction.

    An idempotent repeat writes nothing; a tombstone release is a RELEASED event too.
    """

    class Kind(models.TextChoices):
        RESERVED = "RESERVED"
        COMMITTED = "COMMITTED"
        RELEASED = "RELEASED"

    order_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=255, blank=True, help_text="Of the request that made it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"

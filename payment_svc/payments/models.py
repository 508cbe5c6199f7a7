"""Customer accounts, the merchant's account, one payment per order and the ledger of its events.

Money only moves between these rows (balance → held → merchant), so their sum
always equals what was deposited. State changes live in services.py.
"""

import uuid

from django.db import models
from django.db.models import Q


class Account(models.Model):
    customer_id = models.CharField(primary_key=True, max_length=64)
    balance_cents = models.BigIntegerField(help_text="Spendable now.")
    held_cents = models.BigIntegerField(default=0, help_text="Authorized, not yet captured or voided.")
    deposited_cents = models.BigIntegerField(help_text="Paid in when the account was opened.")
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_cents__gte=0), name="account_balance_not_negative"),
            models.CheckConstraint(condition=Q(held_cents__gte=0), name="account_held_not_negative"),
        ]

    def __str__(self) -> str:
        return self.customer_id


class MerchantAccount(models.Model):
    """The single account captured money moves to."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    balance_cents = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "merchant"


class Payment(models.Model):
    """One per order: AUTHORIZED → CAPTURED | VOIDED. A VOIDED row is also the tombstone."""

    class Status(models.TextChoices):
        AUTHORIZED = "AUTHORIZED"
        CAPTURED = "CAPTURED"
        VOIDED = "VOIDED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_id = models.UUIDField(unique=True)
    customer_id = models.CharField(max_length=64, blank=True)
    amount_cents = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=16, choices=Status.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status}"


class PaymentEvent(models.Model):
    """Append-only: one row per real transition of a payment, written in the transition's transaction.

    An idempotent repeat writes nothing; a tombstone void is a VOIDED event of 0 cents.
    """

    class Kind(models.TextChoices):
        AUTHORIZED = "AUTHORIZED"
        CAPTURED = "CAPTURED"
        VOIDED = "VOIDED"

    order_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount_cents = models.PositiveBigIntegerField()
    idempotency_key = models.CharField(max_length=255, blank=True, help_text="Of the request that made it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.amount_cents}"

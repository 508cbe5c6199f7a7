"""Reads of accounts, payments and the payment event ledger. Nothing here changes state."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from payments.errors import AccountNotFound
from payments.models import Account, MerchantAccount, Payment, PaymentEvent


def account_get(*, customer_id: str, owner: str | None = None) -> Account:
    """The account of `customer_id`; with `owner` (a customer reading), only if it is that customer's:
    another customer's account is not found, not forbidden, so its existence is not confirmed."""
    if owner is not None and owner != customer_id:
        raise AccountNotFound(customer_id=customer_id)
    try:
        return Account.objects.get(customer_id=customer_id)
    except Account.DoesNotExist:
        raise AccountNotFound(customer_id=customer_id) from None


def account_list() -> QuerySet[Account]:
    return Account.objects.all()


def merchant_get() -> MerchantAccount:
    return MerchantAccount.objects.get(pk=MerchantAccount.SINGLETON_ID)


def payment_list(*, order_id: UUID | None = None) -> QuerySet[Payment]:
    payments = Payment.objects.all()
    return payments.filter(order_id=order_id) if order_id else payments


def payment_event_list(*, order_id: UUID | None = None) -> QuerySet[PaymentEvent]:
    events = PaymentEvent.objects.all()
    return events.filter(order_id=order_id) if order_id else events

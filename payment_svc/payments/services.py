"""State changes of money: accounts and the payment state machine.

Every function runs in one transaction, locks the rows whose money it moves
(account, then payment, then merchant), records each real transition as a
PaymentEvent in that transaction, and is safe to call twice for the same order.
"""

from __future__ import annotations

from uuid import UUID

from django.db import IntegrityError, transaction

from payments.errors import (
    AccountExists,
    AccountNotFound,
    DepositLimit,
    PaymentCaptured,
    PaymentConflict,
    PaymentDeclined,
    PaymentNotFound,
    PaymentVoided,
)
from payments.models import Account, MerchantAccount, Payment, PaymentEvent

MAX_DEPOSITED_CENTS = 10**15
"""Most one account may ever have been paid: far below the 64-bit columns' limit."""


def account_create(*, customer_id: str, balance_cents: int, currency: str = "USD") -> Account:
    try:
        with transaction.atomic():
            return Account.objects.create(
                customer_id=customer_id, balance_cents=balance_cents, deposited_cents=balance_cents, currency=currency
            )
    except IntegrityError:
        raise AccountExists(customer_id=customer_id) from None


def account_deposit(*, customer_id: str, amount_cents: int) -> Account:
    """Pay money into an account: balance and deposited grow together, so the books still add up."""
    with transaction.atomic():
        account = _locked_account(customer_id)
        if account is None:
            raise AccountNotFound(customer_id=customer_id)
        if account.deposited_cents + amount_cents > MAX_DEPOSITED_CENTS:
            raise DepositLimit(customer_id=customer_id, limit_cents=MAX_DEPOSITED_CENTS)
        account.balance_cents += amount_cents
        account.deposited_cents += amount_cents
        account.save(update_fields=["balance_cents", "deposited_cents", "updated_at"])
        return account


def _locked_payment(order_id: UUID) -> Payment | None:
    return Payment.objects.select_for_update().filter(order_id=order_id).first()


def _locked_account(customer_id: str) -> Account | None:
    return Account.objects.select_for_update().filter(customer_id=customer_id).first()


def _record(payment: Payment, kind: str, idempotency_key: str) -> None:
    PaymentEvent.objects.create(
        order_id=payment.order_id, kind=kind, amount_cents=payment.amount_cents, idempotency_key=idempotency_key
    )


def _lock_order_payment(order_id: UUID) -> tuple[Account | None, Payment | None]:
    """Lock an order's account, then its payment: the same order as authorize, so no deadlock."""
    customer_id = Payment.objects.filter(order_id=order_id).values_list("customer_id", flat=True).first()
    account = _locked_account(customer_id) if customer_id else None
    payment = _locked_payment(order_id)
    if payment is not None and payment.customer_id and account is None:
        # An authorize committed between the read above and the lock: lock its account too.
        account = _locked_account(payment.customer_id)
    return account, payment


def payment_authorize(
    *, order_id: UUID, customer_id: str, amount_cents: int, currency: str, idempotency_key: str = ""
) -> tuple[Payment, bool]:
    """Hold `amount_cents` on the customer's account. Returns (payment, created)."""
    with transaction.atomic():
        account = _locked_account(customer_id)
        existing = _locked_payment(order_id)
        if existing is not None:
            if existing.status == Payment.Status.VOIDED:
                raise PaymentVoided(order_id=str(order_id))
            if (existing.customer_id, existing.amount_cents, existing.currency) != (customer_id, amount_cents, currency):
                raise PaymentConflict(order_id=str(order_id))
            return existing, False
        if account is None:
            raise PaymentDeclined("The customer has no account.", reason="unknown_account")
        if account.currency != currency:
            raise PaymentDeclined(
                "The account holds another currency.", reason="currency_mismatch", account_currency=account.currency
            )
        if account.balance_cents < amount_cents:
            # Says no more than "not enough": the balance is the customer's business, not the saga's.
            raise PaymentDeclined("Insufficient funds.", reason="insufficient_funds", amount_cents=amount_cents)
        account.balance_cents -= amount_cents
        account.held_cents += amount_cents
        account.save(update_fields=["balance_cents", "held_cents", "updated_at"])
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    order_id=order_id, customer_id=customer_id, amount_cents=amount_cents,
                    currency=currency, status=Payment.Status.AUTHORIZED,
                )
        except IntegrityError:
            # This order's void (a compensation that locks no account when nothing was held)
            # committed its tombstone just now: the late authorize is refused, the hold undone.
            raise PaymentVoided(order_id=str(order_id)) from None
        _record(payment, PaymentEvent.Kind.AUTHORIZED, idempotency_key)
        return payment, True


def payment_void(*, order_id: UUID, idempotency_key: str = "") -> Payment:
    """Compensation: release the hold. With nothing held, leave a VOIDED tombstone."""
    with transaction.atomic():
        account, payment = _lock_order_payment(order_id)
        if payment is None:
            try:
                with transaction.atomic():
                    tombstone = Payment.objects.create(order_id=order_id, status=Payment.Status.VOIDED)
                    _record(tombstone, PaymentEvent.Kind.VOIDED, idempotency_key)
                    return tombstone
            except IntegrityError:
                # A slow authorize for this order committed just now: void what it held.
                account, payment = _lock_order_payment(order_id)
        if payment.status == Payment.Status.VOIDED:
            return payment
        if payment.status == Payment.Status.CAPTURED:
            raise PaymentCaptured(order_id=str(order_id))
        account.held_cents -= payment.amount_cents
        account.balance_cents += payment.amount_cents
        account.save(update_fields=["balance_cents", "held_cents", "updated_at"])
        payment.status = Payment.Status.VOIDED
        payment.save(update_fields=["status", "updated_at"])
        _record(payment, PaymentEvent.Kind.VOIDED, idempotency_key)
        return payment


def payment_capture(*, order_id: UUID, idempotency_key: str = "") -> Payment:
    """Move the held amount to the merchant."""
    with transaction.atomic():
        account, payment = _lock_order_payment(order_id)
        if payment is None:
            raise PaymentNotFound(order_id=str(order_id))
        if payment.status == Payment.Status.CAPTURED:
            return payment
        if payment.status == Payment.Status.VOIDED:
            raise PaymentVoided(order_id=str(order_id))
        merchant = MerchantAccount.objects.select_for_update().get(pk=MerchantAccount.SINGLETON_ID)
        account.held_cents -= payment.amount_cents
        account.save(update_fields=["held_cents", "updated_at"])
        merchant.balance_cents += payment.amount_cents
        merchant.save(update_fields=["balance_cents", "updated_at"])
        payment.status = Payment.Status.CAPTURED
        payment.save(update_fields=["status", "updated_at"])
        _record(payment, PaymentEvent.Kind.CAPTURED, idempotency_key)
        return payment

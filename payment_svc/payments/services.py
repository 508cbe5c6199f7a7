"""State changes of money: accounts and the payment state machine.

Every function runs in one transaction (the idempotent request's, when there is one), records each
real transition as a PaymentEvent in that transaction, and is safe to call twice for the same order.
Where writers run side by side (PostgreSQL), the rows whose money moves are locked in one order
(account, then payment, then merchant), so that no two transactions deadlock; SQLite lets one writer
in at a time and needs no locks. Refusals are raised before the first write.

`account_open_on_registration` is the handler of payment_svc's event consumer (`manage.py
consume_events`): a customer that identity_svc registered gets an account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, QuerySet
from django.utils import timezone

from chassis.errors import DomainError
from chassis.events.services import event_record
from chassis.idempotency.effects import concurrent_writers, effect_transaction, insert_savepoint
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
from saga_contract.events import Envelope, EventType, customer_registered_data

logger = logging.getLogger(__name__)

MAX_DEPOSITED_CENTS = 10**15
"""Most one account may ever have been paid: far below the 64-bit columns' limit."""


def account_create(*, customer_id: str, balance_cents: int, currency: str = "USD") -> Account:
    try:
        with transaction.atomic():
            return Account.objects.create(
                customer_id=customer_id,
                balance_cents=balance_cents,
                deposited_cents=balance_cents,
                currency=currency,
            )
    except IntegrityError:
        raise AccountExists(customer_id=customer_id) from None


def account_open_on_registration(envelope: Envelope, *, trace_context: dict[str, str]) -> bool:
    """Open the account of the customer an identity.customer_registered event tells of, with
    PAYMENT_SIGNUP_CREDIT_CENTS paid in.

    Returns False when the customer has an account already, whether a redelivered event or an operator
    opened it first: nothing changes then. The account's primary key, the customer's id, is what makes
    a second handling harmless, so no inbox is kept. The consumer's span already joins the event's
    trace, so `trace_context` is not kept. Raises InvalidEnvelope for any other event and for data
    that cannot be read (retrying will not help), and database errors as they come (the caller
    retries).
    """
    data = customer_registered_data(envelope)
    try:
        account_create(customer_id=data["customer_id"], balance_cents=settings.PAYMENT_SIGNUP_CREDIT_CENTS)
    except AccountExists:
        logger.info(
            "account already open",
            extra={"fields": {"event_id": envelope["id"], "customer_id": data["customer_id"]}},
        )
        return False
    logger.info(
        "account opened on registration",
        extra={"fields": {"event_id": envelope["id"], "customer_id": data["customer_id"]}},
    )
    return True


def account_deposit(*, customer_id: str, amount_cents: int) -> Account:
    """Pay money into an account: balance and deposited grow together, so the books still add up."""
    with effect_transaction():
        account = Account.objects.select_for_update().filter(customer_id=customer_id).first()
        if account is None:
            raise AccountNotFound(customer_id=customer_id)
        if account.deposited_cents + amount_cents > MAX_DEPOSITED_CENTS:
            raise DepositLimit(customer_id=customer_id, limit_cents=MAX_DEPOSITED_CENTS)
        account.balance_cents += amount_cents
        account.deposited_cents += amount_cents
        account.save(update_fields=["balance_cents", "deposited_cents", "updated_at"])
        return account


def _record(payment: Payment, kind: str, idempotency_key: str) -> None:
    PaymentEvent.objects.create(
        order_id=payment.order_id,
        kind=kind,
        amount_cents=payment.amount_cents,
        idempotency_key=idempotency_key,
    )


def _add(rows: QuerySet[Account] | QuerySet[MerchantAccount], now: datetime, **cents: int) -> None:
    """Add `cents` (per field, negative to take away) to the one row of `rows`, in one UPDATE whose
    arithmetic the database does. A missing row is a broken invariant, never money silently lost."""
    if not rows.update(updated_at=now, **{field: F(field) + amount for field, amount in cents.items()}):
        raise rows.model.DoesNotExist(f"No {rows.model.__name__} to move {cents} on.")


def _funds_refusal(account: Account | None, amount_cents: int, currency: str) -> PaymentDeclined | None:
    """Why `account` cannot hold `amount_cents` in `currency`, or None."""
    if account is None:
        return PaymentDeclined("The customer has no account.", reason="unknown_account")
    if account.currency != currency:
        return PaymentDeclined(
            "The account holds another currency.",
            reason="currency_mismatch",
            account_currency=account.currency,
        )
    if account.balance_cents < amount_cents:
        # Says no more than "not enough": the balance is the customer's business, not the saga's.
        return PaymentDeclined("Insufficient funds.", reason="insufficient_funds", amount_cents=amount_cents)
    return None


def payment_authorize(
    *, order_id: UUID, customer_id: str, amount_cents: int, currency: str, idempotency_key: str = ""
) -> tuple[Payment, bool]:
    """Hold `amount_cents` on the customer's account. Returns (payment, created)."""
    with effect_transaction():
        # One statement reads (and locks) the account and tells whether this order has a payment.
        account = (
            Account.objects.select_for_update()
            .filter(customer_id=customer_id)
            .annotate(order_paid=Exists(Payment.objects.filter(order_id=order_id)))
            .first()
        )
        refusal = _funds_refusal(account, amount_cents, currency)
        if refusal is None and account is not None and not account.order_paid:
            try:
                with insert_savepoint():
                    payment = Payment.objects.create(
                        order_id=order_id,
                        customer_id=customer_id,
                        amount_cents=amount_cents,
                        currency=currency,
                        status=Payment.Status.AUTHORIZED,
                    )
            except IntegrityError:
                # This order's payment was committed since the read: a void's tombstone (a
                # compensation that locks no account when nothing was held) or a concurrent authorize.
                payment = None
            if payment is not None:
                account.balance_cents -= amount_cents
                account.held_cents += amount_cents
                account.save(update_fields=["balance_cents", "held_cents", "updated_at"])
                _record(payment, PaymentEvent.Kind.AUTHORIZED, idempotency_key)
                return payment, True
        # A repeat of an authorize that went through is answered with its payment, whatever the
        # balance is now; a refusal is only given to an order that holds nothing.
        existing = Payment.objects.filter(order_id=order_id).first()
        if existing is None:
            # An order has no payment here only when its authorization was refused.
            assert refusal is not None
            raise refusal
        if existing.status == Payment.Status.VOIDED:
            raise PaymentVoided(order_id=str(order_id))
        if (existing.customer_id, existing.amount_cents, existing.currency) != (
            customer_id,
            amount_cents,
            currency,
        ):
            raise PaymentConflict(order_id=str(order_id))
        return existing, False


def _payment_finish(
    payment: Payment,
    *,
    to: str,
    refusal: type[DomainError],
    idempotency_key: str,
    move: Callable[[Payment, datetime], None],
) -> Payment:
    """Move an AUTHORIZED payment to `to` (VOIDED or CAPTURED), with `move(payment, now)` moving its
    money. A repeat returns it as it is; the other final state is refused with `refusal`."""
    if payment.status == Payment.Status.AUTHORIZED:
        if concurrent_writers():
            # The same lock order as payment_authorize: the account before the payment.
            list(
                Account.objects.select_for_update().filter(customer_id=payment.customer_id).values_list("pk")
            )
        now = timezone.now()
        if Payment.objects.filter(pk=payment.pk, status=Payment.Status.AUTHORIZED).update(
            status=to, updated_at=now
        ):
            move(payment, now)
            _record(payment, PaymentEvent.Kind(to), idempotency_key)
            payment.status, payment.updated_at = to, now
            event_record(
                EventType.PAYMENT_CAPTURED if to == Payment.Status.CAPTURED else EventType.PAYMENT_VOIDED,
                key=str(payment.order_id),
                data={
                    "payment_id": str(payment.id),
                    "order_id": str(payment.order_id),
                    "customer_id": payment.customer_id,
                    "amount_cents": payment.amount_cents,
                    "currency": payment.currency,
                },
            )
            return payment
        # Another transaction finished it after it was read (PostgreSQL): final states never change.
        payment = Payment.objects.get(pk=payment.pk)
    if payment.status == to:
        return payment
    raise refusal(order_id=str(payment.order_id))


def _hold_to_balance(payment: Payment, now: datetime) -> None:
    _add(
        Account.objects.filter(customer_id=payment.customer_id),
        now,
        held_cents=-payment.amount_cents,
        balance_cents=payment.amount_cents,
    )


def _hold_to_merchant(payment: Payment, now: datetime) -> None:
    _add(Account.objects.filter(customer_id=payment.customer_id), now, held_cents=-payment.amount_cents)
    _add(
        MerchantAccount.objects.filter(pk=MerchantAccount.SINGLETON_ID),
        now,
        balance_cents=payment.amount_cents,
    )


def payment_void(*, order_id: UUID, idempotency_key: str = "") -> Payment:
    """Compensation: release the hold. With nothing held, leave a VOIDED tombstone."""
    with effect_transaction():
        payment = Payment.objects.filter(order_id=order_id).first()
        if payment is None:
            try:
                with insert_savepoint():
                    tombstone = Payment.objects.create(order_id=order_id, status=Payment.Status.VOIDED)
            except IntegrityError:
                # A slow authorize for this order committed just now: void what it held.
                payment = Payment.objects.get(order_id=order_id)
            else:
                _record(tombstone, PaymentEvent.Kind.VOIDED, idempotency_key)
                return tombstone
        return _payment_finish(
            payment,
            to=Payment.Status.VOIDED,
            refusal=PaymentCaptured,
            idempotency_key=idempotency_key,
            move=_hold_to_balance,
        )


def payment_capture(*, order_id: UUID, idempotency_key: str = "") -> Payment:
    """Move the held amount to the merchant."""
    with effect_transaction():
        payment = Payment.objects.filter(order_id=order_id).first()
        if payment is None:
            raise PaymentNotFound(order_id=str(order_id))
        return _payment_finish(
            payment,
            to=Payment.Status.CAPTURED,
            refusal=PaymentVoided,
            idempotency_key=idempotency_key,
            move=_hold_to_merchant,
        )

"""The payment service's business errors, each with its HTTP status and machine code."""

from chassis.errors import Conflict, DomainError, NotFound
from saga_contract import CancellationReason, ErrorCode


class AccountNotFound(NotFound):
    code = "account_not_found"
    message = "No account for this customer."


class AccountExists(Conflict):
    code = "account_exists"
    message = "This customer already has an account."


class PaymentDeclined(DomainError):
    status_code = 402
    code = CancellationReason.PAYMENT_DECLINED
    message = "The payment was declined."


class PaymentNotFound(NotFound):
    code = ErrorCode.PAYMENT_NOT_FOUND
    message = "This order has no payment."


class PaymentVoided(Conflict):
    code = ErrorCode.PAYMENT_VOIDED
    message = "This order's payment was voided; it cannot be authorized or captured again."


class PaymentCaptured(Conflict):
    code = ErrorCode.PAYMENT_CAPTURED
    message = "This order's payment is captured; it cannot be voided."


class PaymentConflict(Conflict):
    code = ErrorCode.PAYMENT_CONFLICT
    message = "This order already has a payment with other terms."


class DepositLimit(DomainError):
    status_code = 422
    code = "deposit_limit"
    message = "The account would hold more than one account may."

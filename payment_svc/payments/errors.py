"""The payment service's business errors, each with its HTTP status and machine code."""

from chassis.errors import Conflict, DomainError, NotFound


class AccountNotFound(NotFound):
    code = "account_not_found"
    message = "No account for this customer."


class AccountExists(Conflict):
    code = "account_exists"
    message = "This customer already has an account."


class PaymentDeclined(DomainError):
    status_code = 402
    code = "payment_declined"
    message = "The payment was declined."


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = "This order has no payment."


class PaymentVoided(Conflict):
    code = "payment_voided"
    message = "This order's payment was voided; it cannot be authorized or captured again."


class PaymentCaptured(Conflict):
    code = "payment_captured"
    message = "This order's payment is captured; it cannot be voided."


class PaymentConflict(Conflict):
    code = "payment_conflict"
    message = "This order already has a payment with other terms."


class DepositLimit(DomainError):
    status_code = 422
    code = "deposit_limit"
    message = "The account would hold more than one account may."

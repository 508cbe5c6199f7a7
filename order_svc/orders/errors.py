"""The order service's business errors, each with its HTTP status and machine code."""

from chassis.errors import Conflict, DomainError, NotFound, PermissionDenied


class OrderNotFound(NotFound):
    code = "order_not_found"
    message = "No order has this id."


class OrderFinal(Conflict):
    code = "order_final"
    message = "The order is already final."


class LinesMismatch(DomainError):
    status_code = 422
    code = "lines_mismatch"
    message = "The priced lines do not match the order's items."


class SagaUnavailable(DomainError):
    status_code = 503
    code = "saga_unavailable"
    message = "The order could not be started right now; nothing was stored. Retry with the same Idempotency-Key."


class CustomerMismatch(PermissionDenied):
    code = "customer_mismatch"
    message = "A customer places orders for itself only: customer_id must be your own."

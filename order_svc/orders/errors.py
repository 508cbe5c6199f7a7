"""The order service's business errors, each with its HTTP status and machine code."""

from chassis.errors import Conflict, DomainError, NotFound, PermissionDenied
from saga_contract import CANCEL_REFUSED, ErrorCode


class OrderNotFound(NotFound):
    code = ErrorCode.ORDER_NOT_FOUND
    message = "No order has this id."


class OrderFinal(Conflict):
    code = ErrorCode.ORDER_FINAL
    message = "The order is already final."


class LinesMismatch(DomainError):
    status_code = 422
    code = "lines_mismatch"
    message = "The priced lines do not match the order's items."


class OrderNotCancellable(Conflict):
    """`details.reason`: `pivot_passed` (payment captured: the order will complete), `final`, or
    another reason the saga gave (saga_contract.CancelRefusal)."""

    code = CANCEL_REFUSED
    message = "The order can no longer be cancelled."


class SagaUnavailable(DomainError):
    status_code = 503
    code = "saga_unavailable"
    message = "The order's saga cannot be reached right now; retry shortly (a cancel with the same Idempotency-Key)."


class CustomerRequired(DomainError):
    """A body the schema allows (`customer_id` is optional), which an operator's order must still fill."""

    status_code = 422
    code = "customer_required"
    message = "An operator must name the customer the order is for (customer_id)."


class CustomerMismatch(PermissionDenied):
    code = "customer_mismatch"
    message = "A customer places orders for itself only: customer_id must be your own."


class OperatorOrdersOff(PermissionDenied):
    code = "operator_orders_off"
    message = "Operators place orders for customers outside production only."

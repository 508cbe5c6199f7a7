"""The inventory's business errors, each with its HTTP status and machine code."""

from chassis.errors import Conflict, DomainError, NotFound
from saga_contract import CancellationReason, ErrorCode


class ProductNotFound(NotFound):
    code = "product_not_found"
    message = "No product has this SKU."


class ProductExists(Conflict):
    code = "product_exists"
    message = "A product with this SKU already exists."


class UnknownSku(DomainError):
    status_code = 422
    code = CancellationReason.UNKNOWN_SKU
    message = "Some SKUs are not in the catalog."


class OutOfStock(Conflict):
    code = CancellationReason.OUT_OF_STOCK
    message = "Not enough stock to reserve every line."


class ReservationNotFound(NotFound):
    code = ErrorCode.RESERVATION_NOT_FOUND
    message = "This order has no reservation."


class ReservationReleased(Conflict):
    code = ErrorCode.RESERVATION_RELEASED
    message = "This order's reservation was released; it cannot be reserved or committed again."


class ReservationCommitted(Conflict):
    code = ErrorCode.RESERVATION_COMMITTED
    message = "This order's stock is already sold; it cannot be released."


class ReservationConflict(Conflict):
    code = ErrorCode.RESERVATION_CONFLICT
    message = "This order already holds a reservation with other lines."


class StockLimit(DomainError):
    status_code = 422
    code = "stock_limit"
    message = "The stock would exceed what one product can hold."

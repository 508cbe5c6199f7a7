"""The inventory's business errors, each with its HTTP status and machine code."""

from chassis.errors import Conflict, DomainError, NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"
    message = "No product has this SKU."


class ProductExists(Conflict):
    code = "product_exists"
    message = "A product with this SKU already exists."


class UnknownSku(DomainError):
    status_code = 422
    code = "unknown_sku"
    message = "Some SKUs are not in the catalog."


class OutOfStock(Conflict):
    code = "out_of_stock"
    message = "Not enough stock to reserve every line."


class ReservationNotFound(NotFound):
    code = "reservation_not_found"
    message = "This order has no reservation."


class ReservationReleased(Conflict):
    code = "reservation_released"
    message = "This order's reservation was released; it cannot be reserved or committed again."


class ReservationCommitted(Conflict):
    code = "reservation_committed"
    message = "This order's stock is already sold; it cannot be released."


class ReservationConflict(Conflict):
    code = "reservation_conflict"
    message = "This order already holds a reservation with other lines."


class StockLimit(DomainError):
    status_code = 422
    code = "stock_limit"
    message = "The stock would exceed what one product can hold."

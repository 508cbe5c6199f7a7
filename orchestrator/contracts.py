"""Payloads of the OrderSaga activities, plus the error types they agree on; the workflow's input,
step names and reasons come from saga_contract, where every process reads them.

Plain dataclasses that Temporal's JSON converter carries; money is int cents. No behaviour and no
imports with side effects: the workflow sandbox passes this module through.
"""

from dataclasses import dataclass
from enum import StrEnum

from saga_contract import CancellationReason, ErrorCode, OrderItem

# ApplicationError types of business failures: the services' domain codes, which retrying never
# changes, and the client layer's own code for an answer that breaks the contract.
BAD_RESPONSE = "bad_response"

CANCELLATION_REASONS = (
    CancellationReason.UNKNOWN_SKU,
    CancellationReason.OUT_OF_STOCK,
    CancellationReason.PAYMENT_DECLINED,
)
"""Business failures before the pivot that cancel the order with that code as the reason."""

BUSINESS_ERROR_TYPES = (
    *CANCELLATION_REASONS,
    *ErrorCode,
    BAD_RESPONSE,
)
"""Every business error type; the workflow's retry policies name them as non-retryable."""


class SagaOutcome(StrEnum):
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


@dataclass
class OrderSagaResult:
    order_id: str
    status: SagaOutcome
    reason: str | None = None
    total_cents: int | None = None


@dataclass
class PricedLine:
    sku: str
    quantity: int
    unit_price_cents: int


@dataclass
class Reservation:
    order_id: str
    status: str
    lines: list[PricedLine]
    total_cents: int
    currency: str


@dataclass
class OrderRef:
    """Input of the calls addressed by order id alone: compensations, capture, commit."""

    order_id: str


@dataclass
class ReserveStockInput:
    order_id: str
    items: list[OrderItem]


@dataclass
class AuthorizePaymentInput:
    order_id: str
    customer_id: str
    amount_cents: int
    currency: str


@dataclass
class ConfirmOrderInput:
    order_id: str
    lines: list[PricedLine]
    total_cents: int
    currency: str


@dataclass
class CancelOrderInput:
    """Cancel with a reason; the priced lines come along when stock had been reserved."""

    order_id: str
    reason: str
    lines: list[PricedLine] | None = None
    total_cents: int | None = None
    currency: str | None = None

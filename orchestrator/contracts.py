"""Payloads of the OrderSaga workflow and its activities, plus the error types they agree on.

Plain dataclasses that Temporal's JSON converter carries; money is int cents. No behaviour and no
imports with side effects: the workflow sandbox passes this module through.
"""

from dataclasses import dataclass
from enum import StrEnum

# ApplicationError types of business failures: the services' domain codes, which retrying never
# changes, and the client layer's own code for an answer that breaks the contract.
BAD_RESPONSE = "bad_response"

CANCELLATION_REASONS = ("unknown_sku", "out_of_stock", "payment_declined")
"""Business failures before the pivot that cancel the order with that code as the reason."""

TIMED_OUT = "timed_out"
"""Cancellation reason when the saga deadline passes before the pivot."""

BUSINESS_ERROR_TYPES = (
    *CANCELLATION_REASONS,
    "reservation_released",
    "reservation_conflict",
    "reservation_committed",
    "reservation_not_found",
    "payment_voided",
    "payment_conflict",
    "payment_captured",
    "payment_not_found",
    "order_not_found",
    "order_final",
    BAD_RESPONSE,
)
"""Every business error type; the workflow's retry policies name them as non-retryable."""


@dataclass
class OrderItem:
    sku: str
    quantity: int


@dataclass
class OrderSagaInput:
    """What order_svc starts the workflow with (as a plain JSON object of the same shape)."""

    order_id: str
    customer_id: str
    items: list[OrderItem]
    currency: str = "USD"
    deadline_seconds: int = 300


class SagaOutcome(StrEnum):
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    ABANDONED = "ABANDONED"
    """order_svc never stored the order (its transaction failed after the start): nothing was done."""


@dataclass
class OrderSagaResult:
    order_id: str
    status: SagaOutcome
    reason: str | None = None
    total_cents: int | None = None


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATED = "compensated"


@dataclass
class StepRecord:
    """One saga step as the workflow sees it, answered by the `progress` query."""

    name: str
    status: StepStatus = StepStatus.PENDING


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

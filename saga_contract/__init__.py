"""The order saga's names, defined once: what order_svc, the orchestrator and the tools agree on.

Task queue, workflow type, the workflow id scheme (`order-<id>` and back), step and activity names,
cancellation and refusal reasons, the error codes the saga acts on, the idempotency key scheme, search
attributes, the Update and query names, the customer id's form, the workflow's input, the services the
saga calls and the gauge their breakers show in, the paths every service serves for the schedules and
for fault injection, and the local defaults every process shares (the Temporal address, the saga's
deadline). Plain Python only: no
Django, no Temporal, nothing with side effects, so that a Django service, the workflow sandbox and a
command-line tool can all import it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

TASK_QUEUE = "orders"
WORKFLOW_TYPE = "OrderSaga"
NAMESPACE = "default"
WORKER_DEPLOYMENT = "order-saga"
"""The Worker Deployment every orchestrator worker belongs to: each build of the worker is one of its
versions, and a saga runs to its end on the version it started on (docs/temporal.md, "Rollouts")."""
BUILD_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
"""A worker version's build id as every tool accepts it (an image tag fits); match it whole."""

DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233"
"""Where every process looks for Temporal unless TEMPORAL_ADDRESS says otherwise: the dev server."""
DEFAULT_DEADLINE_SECONDS = 300
"""How long a saga may take from placement to a final order unless ORDER_SAGA_DEADLINE_SECONDS says
otherwise; the auditor holds every order to the same figure."""

AUDIT_SCHEDULE_ID = "audit"
AUDIT_WORKFLOW_TYPE = "AuditRun"
"""The Temporal Schedule that audits the system every few minutes, and the workflow each run is."""
DEFAULT_AUDIT_EVERY_SECONDS = 300
"""How often the audit runs unless SAGA_AUDIT_EVERY_SECONDS says otherwise."""
IDEMPOTENCY_PURGE_SCHEDULE_ID = "idempotency-purge"
IDEMPOTENCY_PURGE_WORKFLOW_TYPE = "IdempotencyPurge"
"""The Temporal Schedule that has every service delete its expired idempotency records, and its workflow."""
IDEMPOTENCY_PURGE_EVERY_SECONDS = 3600
"""The purge runs hourly: each run deletes about an hour's worth of records in short batches, and a
missed run costs an hour of extra storage, not a day."""
IDEMPOTENCY_PURGE_PATH = "/internal/v1/idempotency-records/purge"
"""Each service's command that deletes its idempotency records older than its retention."""
FAULTS_PATH = "/api/v1/faults"
"""Each service's fault injection (chassis.faults), for operators and only while chaos is on: under
the public API, so that operators reach it through the gateway like every other operator call."""

SAGA_SERVICES = ("inventory_svc", "payment_svc", "order_svc")
"""The services the saga calls, by the names the worker gives them: each has a circuit breaker of its
own in every worker process."""
BREAKER_OPEN_METRIC = "saga_breaker_open"
"""The gauge a worker serves on its Prometheus endpoint (WORKER_METRICS_ADDRESS) for each of
SAGA_SERVICES, labelled `service`: 1 while that service's breaker is open or half-open, else 0.
order_svc reads it to tell operators which breakers are open."""

CUSTOMER_ID_PATTERN = r"[A-Za-z0-9._@-]{1,64}"
"""A customer's id (a token's subject) as every service and tool accepts it; match it whole."""

SAGA_FAILED = "saga_failed"
"""The type of the ApplicationError a saga fails with when a step that must succeed cannot, or when
a step's answer is unusable: the order stays PENDING for an operator."""

CANCEL_UPDATE = "cancel"
"""The Temporal Update a customer's or operator's cancel is sent as (no argument). Its validator
refuses with an ApplicationError of type CANCEL_REFUSED, details `{"reason": <a CancelRefusal>}`;
an accepted cancel returns at once, and the saga compensates what it did."""
CANCEL_REFUSED = "order_not_cancellable"
PROGRESS_QUERY = "progress"
"""The query that answers the saga's steps as the workflow sees them: a list of StepProgress."""


class CancelRefusal(StrEnum):
    """Why the CANCEL_UPDATE validator refused: the `reason` in its ApplicationError's details."""

    PIVOT_PASSED = "pivot_passed"
    """Payment is captured: the order will complete, there is nothing left to compensate."""
    FINAL = "final"
    """The saga has already ended (confirmed or cancelled)."""
    ALREADY_CANCELLING = "already_cancelling"
    """An earlier cancel (or a business failure) already has the saga compensating."""


class Step(StrEnum):
    """The saga's forward steps, in order; capture is the pivot. Each runs as the activity of the same
    name, which is how order_svc counts a step's attempts in the workflow's history."""

    RESERVE_STOCK = "reserve_stock"
    AUTHORIZE_PAYMENT = "authorize_payment"
    CAPTURE_PAYMENT = "capture_payment"
    COMMIT_STOCK = "commit_stock"
    CONFIRM_ORDER = "confirm_order"


STEPS = tuple(Step)
PIVOT = Step.CAPTURE_PAYMENT


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    COMPENSATED = "compensated"
    SKIPPED = "skipped"
    """A step the saga never reached and now never will: its workflow has closed. The workflow's own
    progress query never says so (it reports such a step pending); order_svc's progress endpoint does,
    from the workflow's status."""


@dataclass
class StepProgress:
    """One forward step as the workflow sees it; times are ISO 8601 (UTC) from the workflow's clock."""

    name: str
    state: StepState = StepState.PENDING
    started_at: str | None = None
    finished_at: str | None = None
    last_error: str | None = None
    compensated_at: str | None = None


class Compensation(StrEnum):
    """The undo of a compensatable step, and the final report of a cancelled saga; each is an activity
    of the same name."""

    RELEASE_STOCK = "release_stock"
    VOID_PAYMENT = "void_payment"
    CANCEL_ORDER = "cancel_order"


IDEMPOTENCY_IN_FLIGHT = "idempotency_in_flight"
"""The error code of a call whose Idempotency-Key another request still holds: retry it shortly."""


class ErrorCode(StrEnum):
    """The `code`s of the services' error shape that the saga acts on by name: business failures that
    no retry can change. The cancellation reasons are such codes too."""

    RESERVATION_NOT_FOUND = "reservation_not_found"
    RESERVATION_RELEASED = "reservation_released"
    RESERVATION_COMMITTED = "reservation_committed"
    RESERVATION_CONFLICT = "reservation_conflict"
    PAYMENT_NOT_FOUND = "payment_not_found"
    PAYMENT_VOIDED = "payment_voided"
    PAYMENT_CAPTURED = "payment_captured"
    PAYMENT_CONFLICT = "payment_conflict"
    ORDER_NOT_FOUND = "order_not_found"
    ORDER_FINAL = "order_final"


class CancellationReason(StrEnum):
    UNKNOWN_SKU = "unknown_sku"
    OUT_OF_STOCK = "out_of_stock"
    PAYMENT_DECLINED = "payment_declined"
    CUSTOMER_CANCELLED = "customer_cancelled"
    TIMED_OUT = "timed_out"


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


class SearchAttribute(StrEnum):
    """Custom search attributes of OrderSaga workflows, registered with the Temporal server."""

    CUSTOMER_ID = "CustomerId"
    ORDER_STATUS = "OrderStatus"
    ORDER_TOTAL_CENTS = "OrderTotalCents"
    SAGA_STEP = "SagaStep"


SEARCH_ATTRIBUTE_TYPES = {
    SearchAttribute.CUSTOMER_ID: "Keyword",
    SearchAttribute.ORDER_STATUS: "Keyword",
    SearchAttribute.ORDER_TOTAL_CENTS: "Int",
    SearchAttribute.SAGA_STEP: "Keyword",
}
"""Name -> Temporal type, as `temporal server start-dev --search-attribute Name=Type` takes them."""

_WORKFLOW_ID = re.compile(
    r"order-(?P<order_id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)
_IDEMPOTENCY_KEY = re.compile(r"order-(?P<order_id>[^:]+):(?P<step>.+)")


def workflow_id(order_id: object) -> str:
    """The id of an order's saga: one workflow per order, so a second start is refused by id."""
    return f"order-{order_id}"


def order_id_of(workflow_id_: str) -> str | None:
    """The order id a saga's workflow id names, or None when it names none."""
    match = _WORKFLOW_ID.fullmatch(workflow_id_)
    return match["order_id"] if match else None


def idempotency_key(workflow_id_: str, step: str) -> str:
    """The Idempotency-Key of one step of one saga: the same on every attempt of that step."""
    return f"{workflow_id_}:{step}"


def parse_idempotency_key(key: str) -> tuple[str, str] | None:
    """(order id, step) of a key in the saga's scheme, `order-<order id>:<step>`, or None for any
    other key. The parts are not checked: an auditor compares them with what they should be."""
    match = _IDEMPOTENCY_KEY.fullmatch(key)
    return (match["order_id"], match["step"]) if match else None


def format_money(cents: int, currency: str = "USD") -> str:
    """Integer cents as people read them: 6180, "USD" -> "61.80 USD"."""
    whole, fraction = divmod(cents, 100)
    return f"{whole}.{fraction:02d} {currency}"


@dataclass
class OrderItem:
    sku: str
    quantity: int


@dataclass
class OrderSagaInput:
    """What the saga is started with: written by order_svc into its outbox, read by the workflow."""

    order_id: str
    customer_id: str
    items: list[OrderItem]
    currency: str = "USD"
    deadline_seconds: int = DEFAULT_DEADLINE_SECONDS
    placed_at: str | None = None
    """When the order was stored (ISO 8601): the saga's time to final is measured from it. Sagas
    started before it was written carry none, and are measured from their start."""

    def __post_init__(self) -> None:
        self.items = [item if isinstance(item, OrderItem) else OrderItem(**item) for item in self.items]

    def as_payload(self) -> dict[str, Any]:
        """The plain JSON object order_svc stores in its outbox and the relay starts the workflow with."""
        return asdict(self)

    @property
    def summary(self) -> str:
        """What the Temporal Web UI shows for the saga, instead of a bare type name."""
        lines = len(self.items)
        units = sum(item.quantity for item in self.items)
        items = f"{units} item{'s' if units != 1 else ''}"
        return f"Order of {items} ({lines} line{'s' if lines != 1 else ''}) for {self.customer_id}"

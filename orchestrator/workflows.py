"""The OrderSaga workflow: reserve stock, authorize, capture (the pivot), commit, confirm.

Deterministic orchestration only: services are reached through activities, time through
workflow.now(). No side effects at import: the workflow sandbox imports this module again.
Changing what the workflow does? Read "Changing the workflow" in docs/temporal.md first: a saga is
pinned to the worker version it started on, so a change ships as a new version of the Worker
Deployment; `workflow.patched` is for a fix that must reach sagas already in flight. Recorded
histories are replayed in tests.
"""

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, VersioningBehavior
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

# Each module by its own name: `from orchestrator import metrics` would name this module's package,
# which the sandbox imports again for every run, and the named module with it (docs/benchmarks.md).
with workflow.unsafe.imports_passed_through():
    from orchestrator.activities import SagaActivities
    from orchestrator.contracts import (
        CANCELLATION_REASONS,
        AuthorizePaymentInput,
        CancelOrderInput,
        ConfirmOrderInput,
        OrderRef,
        OrderSagaResult,
        Reservation,
        ReserveStockInput,
        SagaOutcome,
    )
    from orchestrator.metrics import compensation_ran, saga_finished
    from orchestrator.policies import (
        ATTEMPT_TIMEOUT,
        BEFORE_PIVOT,
        FORWARD_PRIORITY,
        HEARTBEAT_TIMEOUT,
        SETTLING_PRIORITY,
        UNTIL_SUCCESS,
    )
    from orchestrator.saga_bookkeeping import (
        Activity,
        ArgT,
        CompensationEntry,
        ResultT,
        StopBeforePivot,
        Visibility,
    )
    from saga_contract import (
        CANCEL_REFUSED,
        CANCEL_UPDATE,
        PIVOT,
        PROGRESS_QUERY,
        SAGA_FAILED,
        STEPS,
        WORKFLOW_TYPE,
        CancellationReason,
        CancelRefusal,
        Compensation,
        OrderSagaInput,
        OrderStatus,
        SearchAttribute,
        Step,
        StepProgress,
        StepState,
        format_money,
    )

STARTED_BY_OUTBOX = "started-by-outbox"
"""Deprecated patch: sagas started by order_svc's outbox relay only ever exist for a committed order,
so they do not look their order up first. The path of the sagas started before the outbox is gone
(the visibility query in docs/temporal.md, "The path before the outbox", finds none open); the
marker is still accepted so that the sagas that recorded it replay."""

BATCHED_VISIBILITY = "batched-visibility"
"""Patch: the search-attribute and memo changes a saga makes within one workflow task are sent
together just before the workflow yields, as at most one search-attribute upsert and one memo
update, instead of one command (and one history event) per change. Histories from before (no
marker of this patch) replay down the old path, which sends every change at once."""

CUSTOMER_ID = SearchAttributeKey.for_keyword(SearchAttribute.CUSTOMER_ID)
ORDER_STATUS = SearchAttributeKey.for_keyword(SearchAttribute.ORDER_STATUS)
ORDER_TOTAL_CENTS = SearchAttributeKey.for_int(SearchAttribute.ORDER_TOTAL_CENTS)
SAGA_STEP = SearchAttributeKey.for_keyword(SearchAttribute.SAGA_STEP)


@workflow.defn(name=WORKFLOW_TYPE, versioning_behavior=VersioningBehavior.PINNED)
class OrderSaga:
    """One order's saga, workflow id ``order-<order id>``.

    - A business failure before the pivot (unknown_sku, out_of_stock, payment_declined), the
      saga deadline passing (timed_out) or a customer's cancel (customer_cancelled) compensates
      every step already attempted, newest first, then cancels the order with that reason and
      returns a CANCELLED result.
    - A cancel is the `cancel` Update: its validator refuses it once the pivot is reached or the
      saga is final (the refusal never reaches history); an accepted cancel arriving while a step
      runs waits for that step's outcome and compensates it too. Compensations are never
      interrupted.
    - Any other failure before the pivot (a contract bug such as bad_response or a tombstone, or a
      reservation in another currency than the order) also compensates, but then fails the
      workflow with ApplicationError type SAGA_FAILED: the order stays PENDING, visibly stuck for
      an operator, rather than cancelled with a reason that is not true.
    - The saga deadline bounds steps 1 and 2 only: once the authorization is held, the saga crosses
      the pivot and capture, commit and confirm retry until they succeed.
    - A compensation, a step after the pivot, or the final cancel that meets a business error (a
      bug: it cannot happen when services keep their contract) fails the workflow with type
      SAGA_FAILED at once; no further compensation runs, the state is left for an operator.
    - Pinned: a saga runs to its end on the worker version it started on.
    """

    def __init__(self) -> None:
        self._steps: dict[str, StepProgress] = {step: StepProgress(step) for step in STEPS}
        self._compensations: list[CompensationEntry] = []
        self._cancel_requested = False
        self._pivot_reached = False
        self._final = False
        self._stopping = False  # compensating after a failure or a cancel
        self._visibility = Visibility(batched=False)
        self._placed_at: datetime | None = None

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> list[StepProgress]:
        return list(self._steps.values())

    @workflow.update(name=CANCEL_UPDATE)
    async def cancel(self) -> None:
        """Accepted: the forward path stops at the end of the step that runs now, and compensates."""
        self._cancel_requested = True
        workflow.logger.info("cancel accepted")

    @cancel.validator
    def _validate_cancel(self) -> None:
        if self._final:
            raise ApplicationError(
                "The order is already final.", {"reason": CancelRefusal.FINAL}, type=CANCEL_REFUSED
            )
        if self._stopping:
            raise ApplicationError(
                "The order is already being cancelled.",
                {"reason": CancelRefusal.ALREADY_CANCELLING},
                type=CANCEL_REFUSED,
            )
        if self._pivot_reached:
            raise ApplicationError(
                "The payment is being captured; the order will complete.",
                {"reason": CancelRefusal.PIVOT_PASSED},
                type=CANCEL_REFUSED,
            )

    @workflow.run
    async def run(self, saga: OrderSagaInput) -> OrderSagaResult:
        deadline = workflow.info().start_time + timedelta(seconds=saga.deadline_seconds)
        self._placed_at = (
            datetime.fromisoformat(saga.placed_at) if saga.placed_at else workflow.info().start_time
        )
        order = OrderRef(saga.order_id)
        workflow.deprecate_patch(STARTED_BY_OUTBOX)
        self._visibility = Visibility(batched=workflow.patched(BATCHED_VISIBILITY))
        self._track_start(saga)
        reservation: Reservation | None = None
        lines = f"{len(saga.items)} line{'s' if len(saga.items) != 1 else ''}"
        try:
            reservation = await self._before_pivot(
                Step.RESERVE_STOCK,
                SagaActivities.reserve_stock,
                ReserveStockInput(saga.order_id, saga.items),
                undo=SagaActivities.release_stock,
                order=order,
                deadline=deadline,
                summary=f"Reserve {lines} at inventory",
            )
            self._track_total(saga, reservation)
            if reservation.currency != saga.currency:
                raise StopBeforePivot(
                    None, f"stock priced in {reservation.currency}, order in {saga.currency}"
                )
            total = format_money(reservation.total_cents, reservation.currency)
            await self._before_pivot(
                Step.AUTHORIZE_PAYMENT,
                SagaActivities.authorize_payment,
                AuthorizePaymentInput(
                    saga.order_id, saga.customer_id, reservation.total_cents, reservation.currency
                ),
                undo=SagaActivities.void_payment,
                order=order,
                deadline=deadline,
                summary=f"Hold {total} on {saga.customer_id}'s account",
            )
            self._stop_if_cancelled(PIVOT)
            self._pivot_reached = True
        except StopBeforePivot as stop:
            self._stopping = True
            await self._compensate()
            if stop.reason is None:
                self._visibility.flush()
                raise ApplicationError(str(stop), type=SAGA_FAILED, non_retryable=True) from stop.__cause__
            return await self._cancel(saga.order_id, stop.reason, reservation)

        await self._after_pivot(
            Step.CAPTURE_PAYMENT, SagaActivities.capture_payment, order, f"Capture {total}"
        )
        await self._after_pivot(
            Step.COMMIT_STOCK, SagaActivities.commit_stock, order, f"Commit the {lines} reserved at inventory"
        )
        await self._after_pivot(
            Step.CONFIRM_ORDER,
            SagaActivities.confirm_order,
            ConfirmOrderInput(
                saga.order_id, reservation.lines, reservation.total_cents, reservation.currency
            ),
            f"Confirm the order, {total}",
        )
        workflow.logger.info("order confirmed", extra={"order_id": saga.order_id})
        self._finish(OrderStatus.CONFIRMED)
        return OrderSagaResult(saga.order_id, SagaOutcome.CONFIRMED, total_cents=reservation.total_cents)

    # Visibility: what the Web UI filters and shows.

    def _track_start(self, saga: OrderSagaInput) -> None:
        self._visibility.set_attributes(
            CUSTOMER_ID.value_set(saga.customer_id),
            ORDER_STATUS.value_set(OrderStatus.PENDING),
            SAGA_STEP.value_set(STEPS[0]),
        )
        self._visibility.set_memo(items=[{"sku": i.sku, "quantity": i.quantity} for i in saga.items])
        workflow.set_current_details(f"{saga.summary}: {OrderStatus.PENDING}")

    def _track_step(self, step: str) -> None:
        self._visibility.set_attributes(SAGA_STEP.value_set(step))

    def _track_total(self, saga: OrderSagaInput, reservation: Reservation) -> None:
        self._visibility.set_attributes(ORDER_TOTAL_CENTS.value_set(reservation.total_cents))
        self._visibility.set_memo(total_cents=reservation.total_cents, currency=reservation.currency)
        total = format_money(reservation.total_cents, reservation.currency)
        workflow.set_current_details(f"{saga.summary}, {total}")

    def _finish(self, status: OrderStatus, reason: str | None = None) -> None:
        self._final = True
        assert self._placed_at is not None, "run() sets the placement time before any step"
        saga_finished(status, reason, self._placed_at)
        self._visibility.set_attributes(ORDER_STATUS.value_set(status))
        workflow.set_current_details(f"{status} {reason or ''}".strip())
        self._visibility.flush()

    # The steps.

    def _stop_if_cancelled(self, next_step: str) -> None:
        if self._cancel_requested:
            raise StopBeforePivot(CancellationReason.CUSTOMER_CANCELLED, f"cancelled before {next_step}")

    def _started(self, step: str) -> None:
        record = self._steps[step]
        record.state, record.started_at = StepState.RUNNING, workflow.now().isoformat()
        self._track_step(step)

    def _ended(self, step: str, state: StepState, error: str | None = None) -> None:
        record = self._steps[step]
        record.state, record.finished_at = state, workflow.now().isoformat()
        if error is not None:
            record.last_error = error

    async def _before_pivot(
        self,
        step: str,
        activity: Activity[ArgT, ResultT],
        arg: ArgT,
        *,
        undo: Activity[OrderRef, None],
        order: OrderRef,
        deadline: datetime,
        summary: str,
    ) -> ResultT:
        """Run a compensatable step within the saga deadline, its undo pushed first.

        The undo goes on the stack before the step runs: a step whose reply was lost may have
        taken effect, so it is compensated too (compensations are no-ops where nothing happened).
        A cancel accepted before the step starts stops the saga here; one accepted while it runs
        is seen once it has ended.
        """
        self._stop_if_cancelled(step)
        # A server's clock may stamp the first task a moment before the start it follows; the saga's
        # time never runs before its start, or a saga whose deadline is its start would get a step.
        remaining = deadline - max(workflow.now(), workflow.info().start_time)
        if remaining <= timedelta(0):
            raise StopBeforePivot(CancellationReason.TIMED_OUT, f"saga deadline passed before {step}")
        undo_summary = f"Undo: {undo.__name__.replace('_', ' ')}"
        self._compensations.append(CompensationEntry(step, undo, order, undo_summary))
        self._started(step)
        self._visibility.flush()
        try:
            result = await workflow.execute_activity_method(
                activity,
                arg,
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                schedule_to_close_timeout=remaining,
                retry_policy=BEFORE_PIVOT,
                summary=summary,
                priority=FORWARD_PRIORITY,
            )
        except ActivityError as error:
            self._ended(step, StepState.FAILED, str(error.cause))
            raise StopBeforePivot(_cancellation_reason(error), f"{step} failed: {error.cause}") from error
        self._ended(step, StepState.DONE)
        return result

    async def _after_pivot(self, step: str, activity: Activity[ArgT, None], arg: ArgT, summary: str) -> None:
        self._started(step)
        try:
            await self._until_success(activity, arg, what=step, summary=summary)
        except ApplicationError as error:
            self._ended(step, StepState.FAILED, str(error))
            raise
        self._ended(step, StepState.DONE)

    async def _compensate(self) -> None:
        """Undo the attempted steps, newest first. A cancel cannot interrupt them: the Update only
        sets a flag, and nothing here looks at it."""
        while self._compensations:
            compensation = self._compensations.pop()
            self._track_step(compensation.activity.__name__)
            await self._until_success(
                compensation.activity,
                compensation.order,
                what=f"undo of {compensation.step}",
                summary=compensation.summary,
            )
            record = self._steps[compensation.step]
            record.state, record.compensated_at = StepState.COMPENSATED, workflow.now().isoformat()
            compensation_ran(compensation.step)

    async def _cancel(self, order_id: str, reason: str, reservation: Reservation | None) -> OrderSagaResult:
        if reservation is None:
            cancel = CancelOrderInput(order_id, reason)
        else:
            cancel = CancelOrderInput(
                order_id, reason, reservation.lines, reservation.total_cents, reservation.currency
            )
        self._track_step(Compensation.CANCEL_ORDER)
        await self._until_success(
            SagaActivities.cancel_order,
            cancel,
            what=Compensation.CANCEL_ORDER,
            summary=f"Cancel the order: {reason}",
        )
        workflow.logger.info("order cancelled: %s", reason, extra={"order_id": order_id})
        self._finish(OrderStatus.CANCELLED, reason)
        return OrderSagaResult(order_id, SagaOutcome.CANCELLED, reason=reason)

    async def _until_success(
        self, activity: Activity[ArgT, Any], arg: ArgT, *, what: str, summary: str
    ) -> None:
        """Run an activity that must succeed; a non-retryable failure fails the workflow."""
        self._visibility.flush()
        try:
            await workflow.execute_activity_method(
                activity,
                arg,
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=UNTIL_SUCCESS,
                summary=summary,
                priority=SETTLING_PRIORITY,
            )
        except ActivityError as error:
            raise ApplicationError(
                f"{what} failed: {error.cause}", type=SAGA_FAILED, non_retryable=True
            ) from error


def _cancellation_reason(error: ActivityError) -> str | None:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type in CANCELLATION_REASONS:
        return cause.type
    if error.retry_state == RetryState.TIMEOUT:
        return CancellationReason.TIMED_OUT
    return None

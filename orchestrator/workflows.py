"""The OrderSaga workflow: reserve stock, authorize, capture (the pivot), commit, confirm.

Deterministic orchestration only: services are reached through activities, time through
workflow.now(). No side effects at import: the workflow sandbox imports this module again.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

with workflow.unsafe.imports_passed_through():
    from orchestrator.activities import SagaActivities
    from orchestrator.contracts import (
        CANCELLATION_REASONS,
        TIMED_OUT,
        AuthorizePaymentInput,
        CancelOrderInput,
        ConfirmOrderInput,
        OrderRef,
        OrderSagaInput,
        OrderSagaResult,
        Reservation,
        ReserveStockInput,
        SagaOutcome,
        StepRecord,
        StepStatus,
    )
    from orchestrator.policies import ATTEMPT_TIMEOUT, BEFORE_PIVOT, HEARTBEAT_TIMEOUT, UNTIL_SUCCESS

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")
Activity = Callable[[SagaActivities, ArgT], Awaitable[ResultT]]

# order_svc waits up to 10 s for the start to be accepted before it commits or rolls back; the
# commit usually lands milliseconds after the start, so the saga looks again soon, then less often.
ORDER_CHECK_PAUSES = tuple(timedelta(seconds=s) for s in (0.5, 1, 2, 4, 8))

STEPS = ("reserve_stock", "authorize_payment", "capture_payment", "commit_stock", "confirm_order")


@dataclass
class _Compensation:
    step: str
    activity: Activity[OrderRef, None]
    order: OrderRef


class _StopBeforePivot(Exception):
    """Ends the forward path before the pivot; never leaves the workflow."""

    def __init__(self, reason: str | None, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        """A cancellation reason, or None when the failure is not one to tell a customer."""


@workflow.defn(name="OrderSaga")
class OrderSaga:
    """One order's saga, workflow id ``order-<order id>``.

    - A business failure before the pivot (unknown_sku, out_of_stock, payment_declined) or the
      saga deadline passing (timed_out) compensates every step already attempted, newest first,
      then cancels the order with that reason and returns a CANCELLED result.
    - Any other failure before the pivot (a contract bug such as bad_response or a tombstone, or a
      reservation in another currency than the order) also compensates, but then fails the
      workflow with ApplicationError type "saga_failed": the order stays PENDING, visibly stuck for
      an operator, rather than cancelled with a reason that is not true.
    - The saga deadline bounds steps 1 and 2 only: once the authorization is held, the saga crosses
      the pivot and capture, commit and confirm retry until they succeed.
    - A compensation, a step after the pivot, or the final cancel that meets a business error (a
      bug: it cannot happen when services keep their contract) fails the workflow with type
      "saga_failed" at once; no further compensation runs, the state is left for an operator.
    """

    def __init__(self) -> None:
        self._steps = {name: StepRecord(name) for name in STEPS}
        self._compensations: list[_Compensation] = []

    @workflow.query(name="progress")
    def progress(self) -> list[StepRecord]:
        return list(self._steps.values())

    @workflow.run
    async def run(self, saga: OrderSagaInput) -> OrderSagaResult:
        deadline = workflow.info().start_time + timedelta(seconds=saga.deadline_seconds)
        order = OrderRef(saga.order_id)
        if not await self._order_stored(order):
            workflow.logger.warning("order never stored: saga abandoned", extra={"order_id": saga.order_id})
            return OrderSagaResult(saga.order_id, SagaOutcome.ABANDONED, reason="order_not_stored")
        reservation: Reservation | None = None
        try:
            reservation = await self._before_pivot(
                "reserve_stock",
                SagaActivities.reserve_stock,
                ReserveStockInput(saga.order_id, saga.items),
                undo=SagaActivities.release_stock,
                order=order,
                deadline=deadline,
            )
            if reservation.currency != saga.currency:
                raise _StopBeforePivot(
                    None, f"stock priced in {reservation.currency}, order in {saga.currency}"
                )
            await self._before_pivot(
                "authorize_payment",
                SagaActivities.authorize_payment,
                AuthorizePaymentInput(
                    saga.order_id, saga.customer_id, reservation.total_cents, reservation.currency
                ),
                undo=SagaActivities.void_payment,
                order=order,
                deadline=deadline,
            )
        except _StopBeforePivot as stop:
            await self._compensate()
            if stop.reason is None:
                raise ApplicationError(
                    str(stop), type="saga_failed", non_retryable=True
                ) from stop.__cause__
            return await self._cancel(saga.order_id, stop.reason, reservation)

        await self._after_pivot("capture_payment", SagaActivities.capture_payment, order)
        await self._after_pivot("commit_stock", SagaActivities.commit_stock, order)
        await self._after_pivot(
            "confirm_order",
            SagaActivities.confirm_order,
            ConfirmOrderInput(
                saga.order_id, reservation.lines, reservation.total_cents, reservation.currency
            ),
        )
        workflow.logger.info("order confirmed", extra={"order_id": saga.order_id})
        return OrderSagaResult(
            saga.order_id, SagaOutcome.CONFIRMED, total_cents=reservation.total_cents
        )

    async def _order_stored(self, order: OrderRef) -> bool:
        """order_svc starts the saga inside the transaction that stores the order: look for the
        order before any effect, for longer than that transaction can stay open, so a saga whose
        order was rolled back (the start answered too late, the commit failed) does nothing."""
        for pause in (timedelta(0), *ORDER_CHECK_PAUSES):
            if pause:
                await workflow.sleep(pause)
            if await workflow.execute_activity_method(
                SagaActivities.order_stored,
                order,
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=UNTIL_SUCCESS,
            ):
                return True
        return False

    async def _before_pivot(
        self,
        step: str,
        activity: Activity[ArgT, ResultT],
        arg: ArgT,
        *,
        undo: Activity[OrderRef, None],
        order: OrderRef,
        deadline: datetime,
    ) -> ResultT:
        """Run a compensatable step within the saga deadline, its undo pushed first.

        The undo goes on the stack before the step runs: a step whose reply was lost may have
        taken effect, so it is compensated too (compensations are no-ops where nothing happened).
        """
        remaining = deadline - workflow.now()
        if remaining <= timedelta(0):
            raise _StopBeforePivot(TIMED_OUT, f"saga deadline passed before {step}")
        self._compensations.append(_Compensation(step, undo, order))
        self._steps[step].status = StepStatus.RUNNING
        try:
            result = await workflow.execute_activity_method(
                activity,
                arg,
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                schedule_to_close_timeout=remaining,
                retry_policy=BEFORE_PIVOT,
            )
        except ActivityError as error:
            self._steps[step].status = StepStatus.FAILED
            raise _StopBeforePivot(
                _cancellation_reason(error), f"{step} failed: {error.cause}"
            ) from error
        self._steps[step].status = StepStatus.COMPLETED
        return result

    async def _after_pivot(self, step: str, activity: Activity[ArgT, None], arg: ArgT) -> None:
        self._steps[step].status = StepStatus.RUNNING
        try:
            await _until_success(activity, arg, what=step)
        except ApplicationError:
            self._steps[step].status = StepStatus.FAILED
            raise
        self._steps[step].status = StepStatus.COMPLETED

    async def _compensate(self) -> None:
        """Undo the attempted steps, newest first."""
        while self._compensations:
            compensation = self._compensations.pop()
            await _until_success(
                compensation.activity, compensation.order, what=f"undo of {compensation.step}"
            )
            self._steps[compensation.step].status = StepStatus.COMPENSATED

    async def _cancel(
        self, order_id: str, reason: str, reservation: Reservation | None
    ) -> OrderSagaResult:
        if reservation is None:
            cancel = CancelOrderInput(order_id, reason)
        else:
            cancel = CancelOrderInput(
                order_id, reason, reservation.lines, reservation.total_cents, reservation.currency
            )
        await _until_success(SagaActivities.cancel_order, cancel, what="cancel_order")
        workflow.logger.info("order cancelled: %s", reason, extra={"order_id": order_id})
        return OrderSagaResult(order_id, SagaOutcome.CANCELLED, reason=reason)


async def _until_success(activity: Activity[ArgT, Any], arg: ArgT, *, what: str) -> None:
    """Run an activity that must succeed; a non-retryable failure fails the workflow."""
    try:
        await workflow.execute_activity_method(
            activity,
            arg,
            start_to_close_timeout=ATTEMPT_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=UNTIL_SUCCESS,
        )
    except ActivityError as error:
        raise ApplicationError(
            f"{what} failed: {error.cause}", type="saga_failed", non_retryable=True
        ) from error


def _cancellation_reason(error: ActivityError) -> str | None:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type in CANCELLATION_REASONS:
        return cause.type
    if error.retry_state == RetryState.TIMEOUT:
        return TIMED_OUT
    return None

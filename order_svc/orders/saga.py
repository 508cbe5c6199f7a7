"""The one place order_svc talks to Temporal: start an order's saga, ask it to cancel, read its progress.

Workflows are addressed by the names in `saga_contract`, with plain JSON arguments, so this service
imports nothing from the orchestrator. Django runs synchronous threads: one background event loop per
process holds the one Temporal client, and every call waits for its answer with a deadline. Nothing
here touches the database, and no caller may hold a transaction open while it waits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils.module_loading import import_string
from opentelemetry import context as otel_context

from observability.tracing import current_trace_id
from saga_contract import (
    CANCEL_REFUSED,
    CANCEL_UPDATE,
    PROGRESS_QUERY,
    STEPS,
    WORKFLOW_TYPE,
    CancelRefusal,
    OrderSagaInput,
    StepState,
)

logger = logging.getLogger(__name__)

NOT_STARTED = "NOT_STARTED"
"""The status of a saga the relay has not started yet (Temporal knows no workflow by its id)."""


class SagaUnreachable(Exception):
    """Temporal did not answer in time: the server is down or slow, or no worker took the call."""


class SagaNotStarted(Exception):
    """Temporal knows no workflow by this id yet."""


class CancelRefused(Exception):
    """The saga refused to cancel; `reason` is a CancelRefusal value (or whatever the workflow said)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class StepReport:
    """One forward step: the workflow's view (progress query), with attempts counted from history."""

    name: str
    state: str = StepState.PENDING
    attempts: int = 0
    last_error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    compensated_at: str | None = None


@dataclass(frozen=True)
class SagaProgress:
    status: str
    """The workflow's status (RUNNING, COMPLETED, FAILED, TERMINATED, ...), or NOT_STARTED."""
    steps: list[StepReport]


@dataclass(frozen=True)
class SagaStart:
    """One saga for `start_all` to start, and the trace context its start runs in (the relay's span of
    the order, so that the workflow joins the order's trace)."""

    workflow_id: str
    saga_input: OrderSagaInput
    context: otel_context.Context | None = None


def saga_progress_not_started() -> SagaProgress:
    return SagaProgress(status=NOT_STARTED, steps=[StepReport(name=step) for step in STEPS])


def saga_progress_from(
    *, status: str, steps: list[dict], history_events: Iterable, pending_activities: Iterable
) -> SagaProgress:
    """Combine the progress query's rows with attempts counted from the workflow's history.

    Each step runs as the activity of the same name. An activity's ActivityTaskStarted event (written
    when it finishes) carries the attempt it finished on; one still running is in `pending_activities`
    (from DescribeWorkflowExecution), with its current attempt and its last failure.
    """
    scheduled: dict[int, tuple[str, str]] = {}  # scheduled event id -> (activity type, activity id)
    finished_on: dict[int, int] = {}  # scheduled event id -> the attempt it finished on
    for event in history_events:
        kind = event.WhichOneof("attributes")
        if kind == "activity_task_scheduled_event_attributes":
            attributes = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (attributes.activity_type.name, attributes.activity_id)
        elif kind == "activity_task_started_event_attributes":
            attributes = event.activity_task_started_event_attributes
            finished_on[attributes.scheduled_event_id] = attributes.attempt
    pending = {activity.activity_id: activity for activity in pending_activities}

    attempts: dict[str, int] = {}
    running_errors: dict[str, str] = {}
    for event_id, (activity_type, activity_id) in scheduled.items():
        if event_id in finished_on:
            made = finished_on[event_id]
        elif activity_id in pending:
            activity = pending[activity_id]
            # STARTED: attempt `attempt` is running; otherwise it waits to run (first try or a backoff).
            made = activity.attempt if activity.state == _PENDING_ACTIVITY_STARTED else activity.attempt - 1
            if activity.HasField("last_failure") and activity.last_failure.message:
                running_errors[activity_type] = activity.last_failure.message
        else:
            made = 0
        attempts[activity_type] = attempts.get(activity_type, 0) + max(made, 0)

    rows = {row.get("name"): row for row in steps if isinstance(row, dict)}
    reports = []
    for step in STEPS:
        row = rows.get(step, {})
        reports.append(
            StepReport(
                name=step,
                state=row.get("state") or StepState.PENDING,
                attempts=attempts.get(step, 0),
                last_error=running_errors.get(step) or row.get("last_error"),
                started_at=row.get("started_at"),
                finished_at=row.get("finished_at"),
                compensated_at=row.get("compensated_at"),
            )
        )
    return SagaProgress(status=status, steps=reports)


_PENDING_ACTIVITY_STARTED = 2  # temporalio.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED


def _refusal_reason(details: Iterable) -> str:
    """The `reason` of the validator's ApplicationError details (`{"reason": ...}`)."""
    for detail in details:
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            return detail["reason"]
    return CancelRefusal.FINAL


async def _in_context(context, coroutine):
    """Run `coroutine` on the client's loop within the caller's trace context (a span of its trace)."""
    token = otel_context.attach(context)
    try:
        return await coroutine
    finally:
        otel_context.detach(token)


class TemporalSagaGateway:
    """start / cancel / progress of workflow `OrderSaga` with id `order-<id>`, over one client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client = None
        self._connecting: asyncio.Lock | None = None

    # --- what order_svc asks ---

    def start_all(self, starts: Sequence[SagaStart]) -> list[bool | SagaUnreachable]:
        """Start several sagas at once, each within its own deadline: for each, True when started,
        False when a workflow with its id exists already (running or closed), which is as good as
        started, or the SagaUnreachable that kept it from starting. REJECT_DUPLICATE: a closed saga
        is never started again. One hop to the client's loop serves the whole batch."""
        if not starts:
            return []
        timeout = settings.TEMPORAL_RPC_TIMEOUT_SECONDS
        return self._call(self._start_all(starts, timeout), timeout + 1)

    def cancel(self, *, workflow_id: str, saga_input: OrderSagaInput) -> None:
        """Send the cancel Update and wait for its outcome; a saga not started yet is started with it.
        Raises CancelRefused (with the validator's reason, or `final` for a closed workflow) or
        SagaUnreachable."""
        self._call(self._cancel(workflow_id, saga_input), settings.ORDER_CANCEL_TIMEOUT_SECONDS)

    def progress(self, *, workflow_id: str) -> SagaProgress:
        """The saga's steps (query, answered from history once closed), attempts and status.
        Raises SagaNotStarted or SagaUnreachable."""
        return self._call(self._progress(workflow_id), settings.TEMPORAL_RPC_TIMEOUT_SECONDS)

    def close(self) -> None:
        """Stop the background loop (tests, and a command about to exit)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = self._client = self._connecting = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)

    # --- the event loop and the client ---

    def _call(self, coroutine, timeout_seconds: float):
        future = asyncio.run_coroutine_threadsafe(
            _in_context(otel_context.get_current(), asyncio.wait_for(coroutine, timeout=timeout_seconds)),
            self._event_loop(),
        )
        try:
            return future.result(timeout=timeout_seconds + 1)
        except (CancelRefused, SagaNotStarted, SagaUnreachable):
            raise
        except (TimeoutError, concurrent.futures.TimeoutError):
            future.cancel()
            raise SagaUnreachable(f"Temporal did not answer within {timeout_seconds:g} s") from None
        except Exception as error:
            raise SagaUnreachable(str(error) or type(error).__name__) from error

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="temporal-client", daemon=True
                )
                self._thread.start()
            return self._loop

    async def _connected(self):
        from temporalio.client import Client

        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._client is None:
                from temporalio.contrib.opentelemetry import TracingInterceptor

                self._client = await Client.connect(
                    settings.TEMPORAL_ADDRESS,
                    namespace=settings.TEMPORAL_NAMESPACE,
                    interceptors=[TracingInterceptor()],
                )
        return self._client

    # --- the calls, on the loop ---

    @staticmethod
    def _start_arguments(workflow_id: str, saga_input: OrderSagaInput) -> tuple[tuple, dict]:
        """How a saga is started, by the relay and by a cancel alike: by name, with the outbox's
        input, and never again once it has closed (REJECT_DUPLICATE)."""
        from temporalio.common import WorkflowIDReusePolicy

        options = {
            "id": workflow_id,
            "task_queue": settings.TEMPORAL_TASK_QUEUE,
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
            "static_summary": saga_input.summary,
        }
        trace_id = current_trace_id()
        if trace_id:  # the Web UI's memo leads to the order's trace
            options["memo"] = {"trace_id": trace_id}
        return (WORKFLOW_TYPE, saga_input.as_payload()), options

    async def _start_all(
        self, starts: Sequence[SagaStart], timeout_seconds: float
    ) -> list[bool | SagaUnreachable]:
        async def start_one(start: SagaStart) -> bool | SagaUnreachable:
            token = otel_context.attach(start.context) if start.context is not None else None
            try:
                async with asyncio.timeout(timeout_seconds):
                    return await self._start(start.workflow_id, start.saga_input)
            except TimeoutError:
                return SagaUnreachable(f"Temporal did not answer within {timeout_seconds:g} s")
            except Exception as error:
                return SagaUnreachable(str(error) or type(error).__name__)
            finally:
                if token is not None:
                    otel_context.detach(token)

        # Each start runs as a task of its own, so each attaches its own trace context.
        return list(await asyncio.gather(*(start_one(start) for start in starts)))

    async def _start(self, workflow_id: str, saga_input: OrderSagaInput) -> bool:
        from temporalio.exceptions import WorkflowAlreadyStartedError

        client = await self._connected()
        arguments, options = self._start_arguments(workflow_id, saga_input)
        try:
            await client.start_workflow(
                *arguments, **options, rpc_timeout=timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    async def _cancel(self, workflow_id: str, saga_input: OrderSagaInput) -> None:
        from temporalio.client import (
            WithStartWorkflowOperation,
            WorkflowUpdateFailedError,
            WorkflowUpdateRPCTimeoutOrCancelledError,
            WorkflowUpdateStage,
        )
        from temporalio.common import WorkflowIDConflictPolicy
        from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
        from temporalio.service import RPCError, RPCStatusCode

        client = await self._connected()
        deadline = timedelta(seconds=settings.ORDER_CANCEL_TIMEOUT_SECONDS)
        arguments, options = self._start_arguments(workflow_id, saga_input)
        start = WithStartWorkflowOperation(
            *arguments, **options, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
        )
        try:
            update = await client.start_update_with_start_workflow(
                CANCEL_UPDATE,
                start_workflow_operation=start,
                wait_for_stage=WorkflowUpdateStage.COMPLETED,
                rpc_timeout=deadline,
            )
            await update.result(rpc_timeout=deadline)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == CANCEL_REFUSED:
                raise CancelRefused(_refusal_reason(cause.details)) from None
            if isinstance(cause, ApplicationError) and cause.type == "AcceptedUpdateCompletedWorkflow":
                raise CancelRefused(CancelRefusal.FINAL) from None  # the saga ended as it took the cancel
            raise SagaUnreachable(f"the cancel Update failed: {cause or error}") from error
        except WorkflowAlreadyStartedError:
            # Closed: USE_EXISTING found no running saga and REJECT_DUPLICATE refused a new one.
            await self._forget_start_error(start)
            raise CancelRefused(CancelRefusal.FINAL) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError as error:
            raise SagaUnreachable("the cancel Update got no answer in time (is a worker running?)") from error
        except RPCError as error:
            await self._forget_start_error(start)
            if error.status == RPCStatusCode.NOT_FOUND:  # the saga closed between start and Update
                raise CancelRefused(CancelRefusal.FINAL) from None
            raise

    @staticmethod
    async def _forget_start_error(start) -> None:
        """The start operation keeps the failure too; read it so asyncio does not log it as lost."""
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(start.workflow_handle(), timeout=0.1)

    async def _progress(self, workflow_id: str) -> SagaProgress:
        from temporalio.service import RPCError, RPCStatusCode

        client = await self._connected()
        handle = client.get_workflow_handle(workflow_id)
        timeout = timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
        try:
            description = await handle.describe(rpc_timeout=timeout)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise SagaNotStarted(workflow_id) from None
            raise
        steps, history = await asyncio.gather(
            handle.query(PROGRESS_QUERY, rpc_timeout=timeout), handle.fetch_history(rpc_timeout=timeout)
        )
        return saga_progress_from(
            status=description.status.name if description.status is not None else "UNKNOWN",
            steps=steps if isinstance(steps, list) else [],
            history_events=history.events,
            pending_activities=description.raw_description.pending_activities,
        )


_gateway_lock = threading.Lock()
_gateways: dict[str, object] = {}


def saga_client_import() -> None:
    """Import the Temporal client now (about a second of CPU): a long-running caller such as the relay
    does it at startup, so that its first saga does not pay for it."""
    import temporalio.client
    import temporalio.common
    import temporalio.contrib.opentelemetry
    import temporalio.exceptions  # noqa: F401


def saga_gateway():
    """The process-wide gateway named by settings.ORDER_SAGA_GATEWAY (tests put a fake there)."""
    with _gateway_lock:
        path = settings.ORDER_SAGA_GATEWAY
        if path not in _gateways:
            _gateways[path] = import_string(path)()
        return _gateways[path]


def saga_gateway_close() -> None:
    """Close and forget the process's gateway: before a command exits, and between tests."""
    with _gateway_lock:
        gateways = list(_gateways.values())
        _gateways.clear()
    for gateway in gateways:
        if hasattr(gateway, "close"):
            gateway.close()

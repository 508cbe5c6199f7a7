"""The saga gateway over Temporal: one client per process, on a background event loop.

Workflows are addressed by the names in `saga_contract`, with plain JSON arguments, so this service
imports nothing from the orchestrator. Django runs synchronous threads: one background event loop per
process holds the one Temporal client, and every call waits for its answer with a deadline; a process
whose calls all come from one thread (the relay) runs that loop in its own thread instead. This module
imports the Temporal SDK (about a second of CPU), so the API's processes load it only when they first
reach a saga (settings.ORDER_SAGA_GATEWAY names it), and the relay at its start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections import OrderedDict
from collections.abc import Coroutine, Iterable, Sequence
from datetime import timedelta
from typing import Any, TypedDict, TypeVar

from django.conf import settings
from opentelemetry import context as otel_context
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from observability.tracing import current_trace_id, temporal_tracing_plugins
from orders.saga_gateway import CancelRefused, SagaNotStarted, SagaStart, SagaUnreachable
from orders.saga_gateway.audit import AuditRunReport, audit_report_completed, audit_report_failed
from orders.saga_gateway.progress import OPEN_STATUSES, SagaProgress, saga_progress_from
from saga_contract import (
    AUDIT_WORKFLOW_TYPE,
    CANCEL_REFUSED,
    CANCEL_UPDATE,
    PROGRESS_QUERY,
    WORKFLOW_TYPE,
    CancelRefusal,
    OrderSagaInput,
)

T = TypeVar("T")

CLOSED_PROGRESS_KEPT = 1024
"""How many closed runs' progress a process keeps. A closed run's history never changes, so its
progress is read from Temporal once (a query, answered by a worker replaying the whole history, and
the history itself) and then from memory; a run that ends later by a reset is another run."""


class _StartOptions(TypedDict):
    id: str
    task_queue: str
    id_reuse_policy: WorkflowIDReusePolicy
    static_summary: str
    memo: dict[str, Any] | None


def _refusal_reason(details: Iterable[object]) -> str:
    """The `reason` of the validator's ApplicationError details (`{"reason": ...}`)."""
    for detail in details:
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            return str(detail["reason"])
    return CancelRefusal.FINAL


def _failure_message(error: WorkflowFailureError) -> str:
    """Why a run did not complete: its failure's messages, outermost first, down to the cause that
    started it ("Activity task failed: payment_svc answered 503 ...")."""
    messages: list[str] = []
    cause: BaseException | None = error.cause
    while cause is not None and len(messages) < 5:
        text = cause.message if isinstance(cause, FailureError) else str(cause)
        messages.append(text or type(cause).__name__)
        cause = cause.__cause__
    return ": ".join(messages)


async def _in_context(context: otel_context.Context, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on the client's loop within the caller's trace context (a span of its trace)."""
    token = otel_context.attach(context)
    try:
        return await coroutine
    finally:
        otel_context.detach(token)


class TemporalSagaGateway:
    """start / cancel / progress of workflow `OrderSaga` with id `order-<id>`, and the latest run of
    the audit, over one client."""

    def __init__(self, *, one_caller: bool = False) -> None:
        """`one_caller`: one thread makes every call (the outbox relay). Each call then runs the
        client's event loop in that thread until its answer, instead of handing it to a thread of
        the loop's own and waiting: one thread less to wake per call. Between calls the loop stands
        still, which the client does not mind (the SDK's runtime keeps its connection); a call from
        a second thread while one runs fails as SagaUnreachable."""
        self._one_caller = one_caller
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Client | None = None
        self._connecting: asyncio.Lock | None = None
        self._closed_progress: OrderedDict[tuple[str, str], SagaProgress] = OrderedDict()
        """By (workflow id, run id), newest use last; touched only on the client's loop."""

    # --- what order_svc asks ---

    def connect(self) -> None:
        """Connect now, so that the first call does not wait for it (nor pay for loading the client's
        tracing); raises SagaUnreachable if Temporal does not answer in time, and the next call
        tries again."""
        self._call(self._connected(), settings.TEMPORAL_RPC_TIMEOUT_SECONDS)

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

    def latest_audit(self) -> AuditRunReport | None:
        """The newest closed run of the scheduled audit (AUDIT_WORKFLOW_TYPE): what it found, or its
        status and failure. None while no run has closed. Visibility lags a little behind a run's
        end, so a run that closed a moment ago may not be the one answered yet. Raises SagaUnreachable."""
        return self._call(self._latest_audit(), settings.TEMPORAL_RPC_TIMEOUT_SECONDS)

    def close(self) -> None:
        """Stop the event loop (tests, and a command about to exit)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = self._client = self._connecting = None
        if loop is not None and thread is None:
            loop.close()
        elif loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)

    # --- the event loop and the client ---

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout_seconds: float) -> T:
        call = _in_context(otel_context.get_current(), asyncio.wait_for(coroutine, timeout=timeout_seconds))
        try:
            return self._run(call, timeout_seconds)
        except (CancelRefused, SagaNotStarted, SagaUnreachable):
            raise
        except (TimeoutError, concurrent.futures.TimeoutError):
            raise SagaUnreachable(f"Temporal did not answer within {timeout_seconds:g} s") from None
        except Exception as error:
            raise SagaUnreachable(str(error) or type(error).__name__) from error

    def _run(self, call: Coroutine[Any, Any, T], timeout_seconds: float) -> T:
        """Run `call` on the client's loop: in this thread for the one caller, else handed to the
        loop's thread, waited for a second beyond the call's own deadline."""
        loop = self._event_loop()
        if self._one_caller:
            try:
                return loop.run_until_complete(call)
            finally:
                call.close()  # a no-op once it ran; spares the warning if the loop refused it
        future = asyncio.run_coroutine_threadsafe(call, loop)
        try:
            return future.result(timeout=timeout_seconds + 1)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                if not self._one_caller:
                    self._thread = threading.Thread(
                        target=self._loop.run_forever, name="temporal-client", daemon=True
                    )
                    self._thread.start()
            return self._loop

    async def _connected(self) -> Client:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._client is None:
                self._client = await Client.connect(
                    settings.TEMPORAL_ADDRESS,
                    namespace=settings.TEMPORAL_NAMESPACE,
                    plugins=temporal_tracing_plugins(),
                )
        return self._client

    # --- the calls, on the loop ---

    @staticmethod
    def _start_options(workflow_id: str, saga_input: OrderSagaInput) -> _StartOptions:
        """How a saga is started, by the relay and by a cancel alike: by name, with the outbox's
        input, and never again once it has closed (REJECT_DUPLICATE). Its memo carries the order's
        trace id, which the Web UI shows beside the workflow."""
        trace_id = current_trace_id()
        return _StartOptions(
            id=workflow_id,
            task_queue=settings.TEMPORAL_TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=saga_input.summary,
            memo={"trace_id": trace_id} if trace_id else None,
        )

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
        client = await self._connected()
        try:
            await client.start_workflow(
                WORKFLOW_TYPE,
                saga_input.as_payload(),
                **self._start_options(workflow_id, saga_input),
                rpc_timeout=timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS),
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    async def _cancel(self, workflow_id: str, saga_input: OrderSagaInput) -> None:
        client = await self._connected()
        deadline = timedelta(seconds=settings.ORDER_CANCEL_TIMEOUT_SECONDS)
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            WORKFLOW_TYPE,
            saga_input.as_payload(),
            **self._start_options(workflow_id, saga_input),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
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
    async def _forget_start_error(start: WithStartWorkflowOperation[Any, Any]) -> None:
        """The start operation keeps the failure too; read it so asyncio does not log it as lost."""
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(start.workflow_handle(), timeout=0.1)

    async def _progress(self, workflow_id: str) -> SagaProgress:
        client = await self._connected()
        handle = client.get_workflow_handle(workflow_id)
        timeout = timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
        try:
            description = await handle.describe(rpc_timeout=timeout)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise SagaNotStarted(workflow_id) from None
            raise
        status = description.status.name if description.status is not None else "UNKNOWN"
        run = (workflow_id, description.run_id)
        if (kept := self._closed_progress.get(run)) is not None:
            self._closed_progress.move_to_end(run)
            return kept
        steps, history = await asyncio.gather(
            handle.query(PROGRESS_QUERY, rpc_timeout=timeout), handle.fetch_history(rpc_timeout=timeout)
        )
        progress = saga_progress_from(
            status=status,
            steps=steps if isinstance(steps, list) else [],
            history_events=history.events,
            pending_activities=description.raw_description.pending_activities,
        )
        if status not in OPEN_STATUSES:
            self._closed_progress[run] = progress
            if len(self._closed_progress) > CLOSED_PROGRESS_KEPT:
                self._closed_progress.popitem(last=False)
        return progress

    async def _latest_audit(self) -> AuditRunReport | None:
        client = await self._connected()
        timeout = timedelta(seconds=settings.TEMPORAL_RPC_TIMEOUT_SECONDS)
        # Visibility lists closed runs by close time, newest first.
        closed_runs = client.list_workflows(
            f"WorkflowType = '{AUDIT_WORKFLOW_TYPE}' AND ExecutionStatus != 'Running'",
            limit=1,
            page_size=1,
            rpc_timeout=timeout,
        )
        run = await anext(aiter(closed_runs), None)
        if run is None:
            return None
        handle = client.get_workflow_handle(run.id, run_id=run.run_id)
        closed_at = run.close_time.isoformat() if run.close_time is not None else None
        status = run.status.name if run.status is not None else "UNKNOWN"
        try:
            result = await handle.result(follow_runs=False, rpc_timeout=timeout)
        except WorkflowFailureError as error:
            return audit_report_failed(
                workflow_id=run.id, status=status, closed_at=closed_at, message=_failure_message(error)
            )
        return audit_report_completed(workflow_id=run.id, result=result, closed_at=closed_at)

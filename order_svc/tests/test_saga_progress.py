"""GET /api/v1/orders/{id}/saga: the saga's steps as its workflow sees them, with attempts per step
counted from the workflow's history; NOT_STARTED while the relay has not started it; 503 when
Temporal cannot answer."""

import uuid

import pytest
from orders.saga_gateway import SagaProgress, SagaUnreachable, StepReport, saga_progress_from
from temporalio.api.common.v1 import ActivityType
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    HistoryEvent,
    WorkflowExecutionStartedEventAttributes,
)
from temporalio.api.workflow.v1 import PendingActivityInfo

from chassis.testing import assert_error
from saga_contract import STEPS
from tests.factories import order_create

pytestmark = pytest.mark.django_db

STEP_FIELDS = {"name", "state", "attempts", "last_error", "started_at", "finished_at", "compensated_at"}


def progress_of(client, order):
    return client.get(f"/api/v1/orders/{order.id}/saga")


def test_a_saga_not_started_yet_is_not_started_with_every_step_pending(customer, sagas):
    order = order_create(customer_id="alice")

    r = progress_of(customer("alice"), order)

    assert r.status_code == 200, r.content
    assert r.json() == {
        "order_id": str(order.id),
        "workflow_id": order.workflow_id,
        "status": "NOT_STARTED",
        "steps": [
            {
                "name": step.value,
                "state": "pending",
                "attempts": 0,
                "last_error": None,
                "started_at": None,
                "finished_at": None,
                "compensated_at": None,
            }
            for step in STEPS
        ],
    }
    assert [c.method for c in sagas.calls] == ["progress"]


def test_a_running_saga_answers_the_workflows_view(operator, sagas):
    order = order_create(customer_id="alice", saga_started=True)
    sagas.script(
        progress=[
            SagaProgress(
                status="RUNNING",
                steps=[
                    StepReport(
                        "reserve_stock", "done", 1, None, "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"
                    ),
                    StepReport(
                        "authorize_payment", "running", 3, "payment_svc answered 503", "2026-01-01T00:00:01Z"
                    ),
                    *[StepReport(step) for step in STEPS[2:]],
                ],
            )
        ]
    )

    body = progress_of(operator, order).json()

    assert body["status"] == "RUNNING"
    assert body["workflow_id"] == order.workflow_id
    assert [set(step) for step in body["steps"]] == [STEP_FIELDS] * len(STEPS)
    assert body["steps"][1] == {
        "name": "authorize_payment",
        "state": "running",
        "attempts": 3,
        "last_error": "payment_svc answered 503",
        "started_at": "2026-01-01T00:00:01Z",
        "finished_at": None,
        "compensated_at": None,
    }


def test_the_owner_sees_states_and_attempts_but_not_the_workers_error_text(customer, sagas):
    order = order_create(customer_id="alice", saga_started=True)
    sagas.script(
        progress=[
            SagaProgress(
                "RUNNING",
                [
                    StepReport(
                        "reserve_stock", "failed", 2, "inventory_svc: ReadTimeout: ", "2026-01-01T00:00:00Z"
                    ),
                    *[StepReport(step) for step in STEPS[1:]],
                ],
            )
        ]
    )

    body = progress_of(customer("alice"), order).json()

    assert (body["steps"][0]["state"], body["steps"][0]["attempts"]) == ("failed", 2)
    assert [step["last_error"] for step in body["steps"]] == [None] * len(STEPS)


def test_another_customers_saga_is_not_found_and_temporal_is_not_asked(customer, sagas):
    order = order_create(customer_id="alice")
    assert_error(progress_of(customer("bob"), order), 404, "order_not_found")
    assert_error(customer("bob").get(f"/api/v1/orders/{uuid.uuid4()}/saga"), 404, "order_not_found")
    assert sagas.calls == []


def test_the_saga_and_anonymous_callers_cannot_watch(saga, anonymous):
    order = order_create(customer_id="alice")
    assert_error(progress_of(saga, order), 403, "permission_denied")
    assert_error(progress_of(anonymous, order), 401, "not_authenticated")


def test_temporal_unreachable_is_503(customer, sagas):
    order = order_create(customer_id="alice", saga_started=True)
    sagas.script(progress=[SagaUnreachable("Temporal did not answer within 5 s")])
    assert_error(progress_of(customer("alice"), order), 503, "saga_unavailable")


# --- attempts from history ---


def scheduled(event_id: int, activity_type: str, activity_id: str) -> HistoryEvent:
    return HistoryEvent(
        event_id=event_id,
        activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
            activity_id=activity_id, activity_type=ActivityType(name=activity_type)
        ),
    )


def started(event_id: int, scheduled_event_id: int, attempt: int) -> HistoryEvent:
    return HistoryEvent(
        event_id=event_id,
        activity_task_started_event_attributes=ActivityTaskStartedEventAttributes(
            scheduled_event_id=scheduled_event_id, attempt=attempt
        ),
    )


def pending(activity_id: str, activity_type: str, attempt: int, state, error: str | None = None):
    info = PendingActivityInfo(
        activity_id=activity_id, activity_type=ActivityType(name=activity_type), attempt=attempt, state=state
    )
    if error:
        info.last_failure.CopyFrom(Failure(message=error))
    return info


def test_attempts_are_counted_from_history_and_the_running_step_from_its_pending_activity():
    history = [
        HistoryEvent(
            event_id=1, workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes()
        ),
        scheduled(5, "not_a_step", "1"),  # an activity no step is named after counts for none
        started(6, 5, 1),
        scheduled(8, "reserve_stock", "2"),
        started(9, 8, 3),  # succeeded on its third attempt
        scheduled(11, "authorize_payment", "3"),  # running its second attempt
    ]
    rows = [
        {
            "name": "reserve_stock",
            "state": "done",
            "started_at": "t0",
            "finished_at": "t1",
            "last_error": None,
        },
        {"name": "authorize_payment", "state": "running", "started_at": "t1", "last_error": None},
        {"name": "something_new", "state": "done"},
    ]
    running = pending(
        "3", "authorize_payment", 2, PendingActivityState.PENDING_ACTIVITY_STATE_STARTED, "HTTP 503"
    )

    progress = saga_progress_from(
        status="RUNNING", steps=rows, history_events=history, pending_activities=[running]
    )

    assert progress.status == "RUNNING"
    assert [step.name for step in progress.steps] == list(STEPS)
    reserve, authorize, capture = progress.steps[:3]
    assert (reserve.state, reserve.attempts, reserve.finished_at) == ("done", 3, "t1")
    assert (authorize.state, authorize.attempts, authorize.last_error) == ("running", 2, "HTTP 503")
    assert (capture.state, capture.attempts, capture.last_error) == ("pending", 0, None)


def test_a_step_waiting_out_a_retry_backoff_counts_the_attempts_made():
    history = [scheduled(5, "capture_payment", "7")]
    waiting = pending(
        "7", "capture_payment", 4, PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED, "timeout"
    )

    progress = saga_progress_from(
        status="RUNNING", steps=[], history_events=history, pending_activities=[waiting]
    )

    capture = progress.steps[STEPS.index("capture_payment")]
    assert (capture.attempts, capture.last_error, capture.state) == (3, "timeout", "pending")


def test_a_compensated_step_keeps_the_workflows_error_and_times():
    rows = [
        {
            "name": "reserve_stock",
            "state": "compensated",
            "last_error": "out_of_stock",
            "started_at": "t0",
            "finished_at": "t1",
            "compensated_at": "t2",
        }
    ]
    history = [
        scheduled(5, "reserve_stock", "1"),
        started(6, 5, 1),
        scheduled(8, "release_stock", "2"),
        started(9, 8, 2),
    ]

    progress = saga_progress_from(
        status="COMPLETED", steps=rows, history_events=history, pending_activities=[]
    )

    reserve = progress.steps[0]
    assert (reserve.state, reserve.attempts, reserve.last_error, reserve.compensated_at) == (
        "compensated",
        1,
        "out_of_stock",
        "t2",
    )
    assert [step.state for step in progress.steps[1:]] == ["skipped"] * 4, "never reached, never will be"


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT"])
def test_once_the_workflow_has_closed_a_step_it_never_reached_is_skipped(status):
    rows = [
        {"name": "reserve_stock", "state": "compensated", "last_error": "payment_declined"},
        {"name": "authorize_payment", "state": "failed", "last_error": "payment_declined"},
        {"name": "capture_payment", "state": "pending"},
    ]

    progress = saga_progress_from(status=status, steps=rows, history_events=[], pending_activities=[])

    assert [(step.name, step.state) for step in progress.steps] == [
        ("reserve_stock", "compensated"),
        ("authorize_payment", "failed"),
        ("capture_payment", "skipped"),
        ("commit_stock", "skipped"),
        ("confirm_order", "skipped"),
    ]


@pytest.mark.parametrize("status", ["RUNNING", "UNKNOWN"])
def test_while_the_workflow_may_still_run_a_step_not_reached_yet_is_pending(status):
    rows = [{"name": "reserve_stock", "state": "done"}, {"name": "authorize_payment", "state": "running"}]

    progress = saga_progress_from(status=status, steps=rows, history_events=[], pending_activities=[])

    assert [step.state for step in progress.steps] == ["done", "running", "pending", "pending", "pending"]


def test_a_cancelled_saga_reads_its_unreached_steps_as_skipped_through_the_api(operator, sagas):
    order = order_create(customer_id="alice", saga_started=True)
    rows = [
        {"name": "reserve_stock", "state": "compensated", "compensated_at": "t2"},
        {"name": "authorize_payment", "state": "compensated", "compensated_at": "t1"},
    ]
    sagas.script(
        progress=[
            saga_progress_from(status="COMPLETED", steps=rows, history_events=[], pending_activities=[])
        ]
    )

    body = progress_of(operator, order).json()

    assert body["status"] == "COMPLETED"
    assert [step["state"] for step in body["steps"]] == ["compensated"] * 2 + ["skipped"] * 3

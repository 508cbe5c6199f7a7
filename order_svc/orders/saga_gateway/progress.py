"""A saga's progress as the progress endpoint shows it: the workflow's own view of its steps (the
progress query) with the attempts of each step counted from the workflow's history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from saga_contract import STEPS, StepState

if TYPE_CHECKING:
    # Types only: the Temporal SDK is loaded when a saga is first reached (orders.saga_gateway.temporal).
    from temporalio.api.history.v1 import HistoryEvent
    from temporalio.api.workflow.v1 import PendingActivityInfo

NOT_STARTED = "NOT_STARTED"
"""The status of a saga the relay has not started yet (Temporal knows no workflow by its id)."""
OPEN_STATUSES = frozenset({"RUNNING", NOT_STARTED, "UNKNOWN"})
"""The statuses of a saga that may still take a step: running, not started yet, or one whose status
Temporal did not say. Any other status (COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT, ...) means
the workflow has closed."""


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


def saga_progress_not_started() -> SagaProgress:
    return SagaProgress(status=NOT_STARTED, steps=[StepReport(name=step) for step in STEPS])


def saga_progress_from(
    *,
    status: str,
    steps: Sequence[object],
    history_events: Iterable[HistoryEvent],
    pending_activities: Iterable[PendingActivityInfo],
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
            scheduled_event = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (scheduled_event.activity_type.name, scheduled_event.activity_id)
        elif kind == "activity_task_started_event_attributes":
            started_event = event.activity_task_started_event_attributes
            finished_on[started_event.scheduled_event_id] = started_event.attempt
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

    # The query reports a step the saga never reached as pending, also once the workflow has closed;
    # such a step will never run, and is reported skipped.
    unreached = StepState.SKIPPED if status not in OPEN_STATUSES else StepState.PENDING
    rows = {row.get("name"): row for row in steps if isinstance(row, dict)}
    reports = []
    for step in STEPS:
        row = rows.get(step, {})
        state = row.get("state") or StepState.PENDING
        reports.append(
            StepReport(
                name=step,
                state=unreached if state == StepState.PENDING else state,
                attempts=attempts.get(step, 0),
                last_error=running_errors.get(step) or row.get("last_error"),
                started_at=row.get("started_at"),
                finished_at=row.get("finished_at"),
                compensated_at=row.get("compensated_at"),
            )
        )
    return SagaProgress(status=status, steps=reports)


_PENDING_ACTIVITY_STARTED = 2  # temporalio.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED

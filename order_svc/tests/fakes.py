"""A saga gateway that stands in for Temporal in order_svc's own tests.

It keeps the workflows it "started" (by id, with their input), records every call (and whether a
database transaction was open at the time), and answers what a test scripted: `script(start=[...])`
queues outcomes for the next calls of a method, an exception to raise or a value to return; with
nothing queued it behaves like Temporal with a healthy worker: start is idempotent by id, cancel
starts a saga that is missing and accepts, progress is NOT_STARTED for an unknown id, and no audit
has run yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from orders.saga_gateway import AuditRunReport, SagaNotStarted, SagaProgress, SagaStart, StepReport

from saga_contract import AUDIT_WORKFLOW_TYPE, STEPS, OrderSagaInput, StepState


@dataclass(frozen=True)
class Call:
    method: str
    workflow_id: str
    in_transaction: bool


class FakeSagaGateway:
    def __init__(self, *, one_caller: bool = False) -> None:
        """`one_caller` is taken as every gateway takes it; the fake answers in its caller's thread."""
        self.workflows: dict[str, OrderSagaInput] = {}
        self.calls: list[Call] = []
        self.cancelled: list[str] = []
        self._scripted: dict[str, list] = {"start": [], "cancel": [], "progress": [], "latest_audit": []}

    def connect(self) -> None:
        """Nothing to connect: the fake answers at once."""

    def close(self) -> None:
        """Nothing to stop: the fake holds no connection."""

    def script(self, **outcomes: list) -> None:
        """Queue outcomes: `script(start=[SagaUnreachable("down"), True], cancel=[CancelRefused("final")])`."""
        for method, queue in outcomes.items():
            self._scripted[method].extend(queue)

    @property
    def started(self) -> list[tuple[str, OrderSagaInput]]:
        """(workflow id, input) of every saga started, in order."""
        return list(self.workflows.items())

    def start(self, *, workflow_id: str, saga_input: OrderSagaInput) -> bool:
        scripted = self._next("start", workflow_id)
        if scripted is not None:
            return scripted
        if workflow_id in self.workflows:
            return False
        self.workflows[workflow_id] = saga_input
        return True

    def start_all(self, starts: list[SagaStart]) -> list[bool | Exception]:
        """Each start in turn, as `start`; what it raises is returned in its place."""
        outcomes: list[bool | Exception] = []
        for start in starts:
            try:
                outcomes.append(self.start(workflow_id=start.workflow_id, saga_input=start.saga_input))
            except Exception as error:
                outcomes.append(error)
        return outcomes

    def cancel(self, *, workflow_id: str, saga_input: OrderSagaInput) -> None:
        self._next("cancel", workflow_id)
        self.workflows.setdefault(workflow_id, saga_input)  # update-with-start
        self.cancelled.append(workflow_id)

    def progress(self, *, workflow_id: str) -> SagaProgress:
        scripted = self._next("progress", workflow_id)
        if scripted is not None:
            return scripted
        if workflow_id not in self.workflows:
            raise SagaNotStarted(workflow_id)
        return SagaProgress(
            status="RUNNING",
            steps=[StepReport(name=STEPS[0], state=StepState.RUNNING, attempts=1)]
            + [StepReport(name=step) for step in STEPS[1:]],
        )

    def latest_audit(self) -> AuditRunReport | None:
        return self._next("latest_audit", AUDIT_WORKFLOW_TYPE)

    def _next(self, method: str, workflow_id: str):
        self.calls.append(Call(method, workflow_id, connection.in_atomic_block))
        if not self._scripted[method]:
            return None
        outcome = self._scripted[method].pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

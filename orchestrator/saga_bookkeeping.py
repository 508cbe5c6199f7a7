"""What the OrderSaga keeps while it runs: its search-attribute and memo changes waiting to be sent,
the entries of its compensation stack, and the exception that ends its forward path before the
pivot.

Deterministic and free of side effects at import, so the workflow module takes it in through
`workflow.unsafe.imports_passed_through()`: the sandbox imports the workflow module again for every
saga it runs, and a dataclass defined there was generated again each time (docs/benchmarks.md).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from orchestrator.activities import SagaActivities
from orchestrator.contracts import OrderRef

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")
Activity = Callable[[SagaActivities, ArgT], Awaitable[ResultT]]
"""A saga step or its undo: one of SagaActivities' activities, as the workflow names it."""


class Visibility:
    """The saga's search attributes and memo, which the Web UI filters and shows.

    Batched, the changes made within one workflow task wait here, a later value of an attribute or
    memo key replacing an earlier one, until `flush()` sends them as one search-attribute upsert
    and one memo update. The saga flushes just before it yields: before each activity it schedules,
    and before it returns or fails. A timer or a condition wait added to the saga must flush first
    too, or the Web UI shows the changes only once the saga next yields. Unbatched (sagas started
    before the workflow's BATCHED_VISIBILITY patch), every change is sent at once, as it was when
    their histories were recorded.
    """

    def __init__(self, *, batched: bool) -> None:
        self._batched = batched
        self._attributes: dict[str, SearchAttributeUpdate[Any]] = {}
        self._memo: dict[str, Any] = {}

    def set_attributes(self, *updates: SearchAttributeUpdate[Any]) -> None:
        for update in updates:
            self._attributes[update.key.name] = update
        if not self._batched:
            self.flush()

    def set_memo(self, **values: Any) -> None:
        self._memo.update(values)
        if not self._batched:
            self.flush()

    def flush(self) -> None:
        """Send what has changed since the last flush; nothing when nothing has."""
        if self._attributes:
            workflow.upsert_search_attributes(list(self._attributes.values()))
            self._attributes.clear()
        if self._memo:
            workflow.upsert_memo(self._memo)
            self._memo = {}


@dataclass
class CompensationEntry:
    """A step's undo on the compensation stack, pushed before the step is called."""

    step: str
    activity: Activity[OrderRef, None]
    order: OrderRef
    summary: str


class StopBeforePivot(Exception):
    """Ends the forward path before the pivot; never leaves the workflow."""

    def __init__(self, reason: str | None, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        """A cancellation reason, or None when the failure is not one to tell a customer."""

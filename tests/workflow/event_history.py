"""Reading the saga's event histories, recorded under tests/workflow/histories/ or fetched from a
run: what each workflow task sent the Web UI (search-attribute upserts, memo updates) and what
the UI showed once each task had completed.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

DIRECTORY = Path(__file__).parent / "histories"

CHANGE_VERSION = "TemporalChangeVersion"
"""The attribute the SDK upserts by itself, once per patch, in the task that first meets the patch."""


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"order-{path.stem}", path.read_text())


@dataclass
class TaskVisibility:
    """What one workflow task sent the Web UI, and what the UI showed once it had completed."""

    attribute_upserts: int = 0
    """The saga's own search-attribute upserts."""
    memo_updates: int = 0
    change_version_upserts: int = 0
    """The SDK's TemporalChangeVersion upserts, one for each patch first met in this task."""
    attributes: dict[str, Any] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)


def visibility_per_task(events: Sequence[HistoryEvent]) -> list[TaskVisibility]:
    """One entry per WorkflowTaskCompleted event: the commands of a task are recorded after it and
    before the next one."""
    tasks: list[TaskVisibility] = []
    attributes: dict[str, Any] = {}
    memo: dict[str, Any] = {}
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            tasks.append(TaskVisibility())
        elif event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            upserted = (
                event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            )
            if set(upserted) == {CHANGE_VERSION}:
                tasks[-1].change_version_upserts += 1
            else:
                tasks[-1].attribute_upserts += 1
                attributes |= {name: _value(payload) for name, payload in upserted.items()}
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            tasks[-1].memo_updates += 1
            upserted = event.workflow_properties_modified_event_attributes.upserted_memo.fields
            memo |= {name: _value(payload) for name, payload in upserted.items()}
        if tasks:
            tasks[-1].attributes, tasks[-1].memo = dict(attributes), dict(memo)
    return tasks


def _value(payload: Payload) -> Any:
    return json.loads(payload.data)

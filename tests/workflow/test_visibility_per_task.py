"""A saga sends the Web UI at most one search-attribute upsert and one memo update per workflow
task, and the UI still sees the same values after every task as it did when each change was sent
on its own (the histories recorded before BATCHED_VISIBILITY)."""

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.workflow.event_history import DIRECTORY, load, visibility_per_task
from tests.workflow.scenarios import SCENARIOS

SCENARIO = {scenario.name: scenario for scenario in SCENARIOS}

EVENTS = {"confirmed": (47, 47), "payment_declined": (47, 47)}
"""Events in the history before and after BATCHED_VISIBILITY. Batching drops two search-attribute
upserts (SagaStep merged into the first task's upsert and into the one carrying the total), and the
patch adds two events while it stays: its marker, and the TemporalChangeVersion upsert the SDK sends
for every patch. Once the old path and the patch call are dropped, both sagas take 45 events."""


def before_batching(name: str) -> list:
    return load(DIRECTORY / f"before-batched-visibility-{name}.json").events


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("name", EVENTS)
async def test_one_attribute_upsert_and_one_memo_update_per_workflow_task(
    env: WorkflowEnvironment, name: str
) -> None:
    _, handle, result, _ = await SCENARIO[name].run(env)
    events = (await handle.fetch_history()).events
    tasks = visibility_per_task(events)
    before = before_batching(name)
    own_updates = sum(task.attribute_upserts + task.memo_updates for task in tasks)
    own_updates_before = sum(
        task.attribute_upserts + task.memo_updates for task in visibility_per_task(before)
    )
    print(
        f"\n{name}: {len(before)} events before batching, {len(events)} now; the saga's own visibility"
        f" updates {own_updates_before} -> {own_updates}, in {len(tasks)} workflow tasks"
    )

    assert (result["status"], result["reason"]) == SCENARIO[name].expected
    for number, task in enumerate(tasks, start=1):
        assert task.attribute_upserts <= 1, (number, task)
        assert task.memo_updates <= 1, (number, task)
    assert own_updates == own_updates_before - 2
    assert (len(before), len(events)) == EVENTS[name]


@pytest.mark.parametrize("name", SCENARIO)
def test_the_web_ui_sees_the_same_values_after_every_task_as_before(name: str) -> None:
    """The recorded history of each scenario against the one recorded before batching: after every
    workflow task, the same search attributes (the step being run, the status, the total) and memo."""
    now = visibility_per_task(load(DIRECTORY / f"{name}.json").events)
    before = visibility_per_task(before_batching(name))

    assert [(task.attributes, task.memo) for task in now] == [(task.attributes, task.memo) for task in before]

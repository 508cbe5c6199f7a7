"""Recorded histories of every saga branch replay against the current workflow code: a change to
the workflow's commands that is not guarded with `workflow.patched` fails here with a
non-determinism error, before it can break a saga in flight. Re-record with `make record-histories`.
Histories of earlier versions stay and keep replaying: `before-batched-visibility-*` (the outbox's
marker only) and `before-pinned-*` (both markers and no task priorities: from before sagas were
pinned to a worker version). The sagas started before the outbox (no marker) and their path are
retired; the outbox's patch is deprecated, which still records its marker.
"""

import base64
import json
from pathlib import Path

import pytest
from temporalio.worker import Replayer

from orchestrator.operations import AuditRun, IdempotencyPurge
from orchestrator.policies import FORWARD_PRIORITY, SETTLING_PRIORITY
from orchestrator.workflows import BATCHED_VISIBILITY, STARTED_BY_OUTBOX, OrderSaga
from saga_contract import Step
from tests.workflow.event_history import DIRECTORY, load, visibility_per_task
from tests.workflow.scenarios import SCENARIOS

on_session_loop = pytest.mark.asyncio(loop_scope="session")

HISTORIES = sorted(DIRECTORY.glob("*.json"))
BEFORE_BATCHED_VISIBILITY = [path for path in HISTORIES if path.name.startswith("before-batched-visibility-")]
BEFORE_PINNED = [path for path in HISTORIES if path.name.startswith("before-pinned-")]
CURRENT = [path for path in HISTORIES if not path.name.startswith("before-")]
OPERATIONS = sorted((DIRECTORY / "operations").glob("*.json"))


def activity_types(path: Path) -> list[str]:
    return [
        event["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for event in json.loads(path.read_text())["events"]
        if "activityTaskScheduledEventAttributes" in event
    ]


def priority_keys(path: Path) -> list[int | None]:
    """The priority key each scheduled activity asked for (None: none given)."""
    return [
        event["activityTaskScheduledEventAttributes"].get("priority", {}).get("priorityKey")
        for event in json.loads(path.read_text())["events"]
        if "activityTaskScheduledEventAttributes" in event
    ]


def patch_markers(path: Path) -> list[str]:
    """The ids of the patches a history's markers record."""
    return [
        json.loads(base64.b64decode(marker["details"]["patch-data"]["payloads"][0]["data"]))["id"]
        for event in json.loads(path.read_text())["events"]
        if (marker := event.get("markerRecordedEventAttributes", {})).get("markerName") == "core_patch"
    ]


def test_every_scenario_and_every_earlier_version_has_a_recorded_history() -> None:
    names = {path.stem for path in HISTORIES}
    assert {scenario.name for scenario in SCENARIOS} <= names
    assert {f"before-batched-visibility-{scenario.name}" for scenario in SCENARIOS} <= names
    assert {f"before-pinned-{scenario.name}" for scenario in SCENARIOS} <= names


@on_session_loop
@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: path.stem)
async def test_the_history_replays_on_the_current_workflow(path: Path) -> None:
    await Replayer(workflows=[OrderSaga]).replay_workflow(load(path))


def test_each_scheduled_operation_has_a_recorded_run() -> None:
    assert {path.stem for path in OPERATIONS} == {"audit_run", "idempotency_purge"}


@on_session_loop
@pytest.mark.parametrize("path", OPERATIONS, ids=lambda path: path.stem)
async def test_the_scheduled_operations_replay_on_the_current_workflows(path: Path) -> None:
    """They upgrade to every new version at their next task, so a change to them must replay their
    runs in flight (docs/temporal.md)."""
    await Replayer(workflows=[AuditRun, IdempotencyPurge]).replay_workflow(load(path))


@pytest.mark.parametrize("path", BEFORE_BATCHED_VISIBILITY, ids=lambda path: path.stem)
def test_sagas_from_before_batched_visibility_sent_each_change_at_once(path: Path) -> None:
    """They carry only the outbox's marker, and their first task upserted search attributes twice,
    so they replay down the path that sends every change as its own command."""
    assert patch_markers(path) == [STARTED_BY_OUTBOX]
    assert visibility_per_task(load(path).events)[0].attribute_upserts == 2


@pytest.mark.parametrize("path", BEFORE_PINNED, ids=lambda path: path.stem)
def test_sagas_from_before_pinning_recorded_both_markers_and_no_priorities(path: Path) -> None:
    assert patch_markers(path) == [STARTED_BY_OUTBOX, BATCHED_VISIBILITY]
    assert set(priority_keys(path)) == {None}


@pytest.mark.parametrize("path", CURRENT, ids=lambda path: path.stem)
def test_new_sagas_take_the_new_path(path: Path) -> None:
    assert activity_types(path)[0] == "reserve_stock"
    assert patch_markers(path) == [STARTED_BY_OUTBOX, BATCHED_VISIBILITY]
    before_pivot = {Step.RESERVE_STOCK, Step.AUTHORIZE_PAYMENT}
    for activity, key in zip(activity_types(path), priority_keys(path), strict=True):
        expected = FORWARD_PRIORITY if activity in before_pivot else SETTLING_PRIORITY
        assert key == expected.priority_key, f"{activity} asked for priority {key}"
    for task in visibility_per_task(load(path).events):
        assert task.attribute_upserts <= 1, task
        assert task.memo_updates <= 1, task


@on_session_loop
async def test_a_history_from_an_unguarded_change_would_fail(tmp_path: Path) -> None:
    """The guard itself works: a history whose first activity is swapped for another no longer
    replays."""
    recorded = json.loads(CURRENT[0].read_text())
    for event in recorded["events"]:
        attributes = event.get("activityTaskScheduledEventAttributes")
        if attributes and attributes["activityType"]["name"] == "reserve_stock":
            attributes["activityType"]["name"] = "authorize_payment"
            break
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(recorded))

    with pytest.raises(Exception, match=r"[Nn]ondetermin"):
        await Replayer(workflows=[OrderSaga]).replay_workflow(load(tampered))

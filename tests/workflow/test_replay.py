"""Recorded histories of every saga branch replay against the current workflow code: a change to
the workflow's commands that is not guarded with `workflow.patched` fails here with a
non-determinism error, before it can break a saga in flight. Re-record with `make record-histories`.
"""

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from orchestrator.workflows import STARTED_BY_OUTBOX, OrderSaga
from tests.workflow.scenarios import SCENARIOS

on_session_loop = pytest.mark.asyncio(loop_scope="session")

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
LEGACY = [path for path in HISTORIES if path.name.startswith("before-")]


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"order-{path.stem}", path.read_text())


def activity_types(path: Path) -> list[str]:
    return [
        event["activityTaskScheduledEventAttributes"]["activityType"]["name"]
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
    assert LEGACY, "histories of sagas started before the outbox"


@on_session_loop
@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: path.stem)
async def test_the_history_replays_on_the_current_workflow(path: Path) -> None:
    await Replayer(workflows=[OrderSaga]).replay_workflow(load(path))


@pytest.mark.parametrize("path", LEGACY, ids=lambda path: path.stem)
def test_sagas_from_before_the_outbox_took_the_old_path(path: Path) -> None:
    """They looked their order up first and carry no patch marker, so they replay down the old path."""
    assert activity_types(path)[0] == "order_stored"
    assert patch_markers(path) == []


@pytest.mark.parametrize("path", [p for p in HISTORIES if p not in LEGACY], ids=lambda path: path.stem)
def test_new_sagas_take_the_new_path(path: Path) -> None:
    assert "order_stored" not in activity_types(path)
    assert patch_markers(path) == [STARTED_BY_OUTBOX]


@on_session_loop
async def test_a_history_from_an_unguarded_change_would_fail(tmp_path: Path) -> None:
    """The guard itself works: a legacy history whose first activity is swapped for another no
    longer replays."""
    legacy = json.loads(LEGACY[0].read_text())
    for event in legacy["events"]:
        attributes = event.get("activityTaskScheduledEventAttributes")
        if attributes and attributes["activityType"]["name"] == "order_stored":
            attributes["activityType"]["name"] = "reserve_stock"
            break
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(legacy))

    with pytest.raises(Exception, match="[Nn]ondetermin"):
        await Replayer(workflows=[OrderSaga]).replay_workflow(load(tampered))

"""Records the event history of every saga scenario into tests/workflow/histories/<name>.json, and
of one run of each scheduled operation into histories/operations/<name>.json.

Run it (`make record-histories`) when the workflow changed on purpose (a new version of the worker,
or a change guarded with `workflow.patched`), after copying the current files to
`before-<change>-<name>.json`: the new histories then join the old ones, which stay, so that the
tests keep replaying the histories of sagas started by every earlier version. Files whose name starts
with `before-` come from earlier versions of the workflow and are never re-recorded.
"""

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from orchestrator.operations import AuditRun, IdempotencyPurge
from orchestrator.operations_activities import (
    AUDIT_ACTIVITY,
    PURGE_ACTIVITY,
    AuditOutcome,
    PurgeOutcome,
    PurgeRequest,
)
from orchestrator.search_attributes import register
from saga_contract import AUDIT_WORKFLOW_TYPE, IDEMPOTENCY_PURGE_WORKFLOW_TYPE, NAMESPACE
from tests.workflow.scenarios import SCENARIOS

HISTORIES = Path(__file__).parent / "histories"
OPERATIONS = HISTORIES / "operations"
TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


async def record() -> None:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER)
    ) as env:
        await register(env.client, NAMESPACE)
        for scenario in SCENARIOS:
            _, handle, result, _ = await scenario.run(env)
            assert (result["status"], result["reason"]) == scenario.expected, (scenario.name, result)
            await write(handle, HISTORIES / f"{scenario.name}.json")
        await record_operations(env)


async def record_operations(env: WorkflowEnvironment) -> None:
    """One run of each scheduled operation, its activities answered at once."""

    @activity.defn(name=AUDIT_ACTIVITY)
    async def audit_system() -> AuditOutcome:
        return AuditOutcome(
            ok=True, violations=0, by_invariant={"money": 0}, seen={"money": 1}, audited_at="t"
        )

    @activity.defn(name=PURGE_ACTIVITY)
    async def purge_idempotency_records(request: PurgeRequest) -> PurgeOutcome:
        return PurgeOutcome(service=request.service, deleted=1, older_than_hours=168)

    task_queue = f"operations-{uuid.uuid4()}"
    OPERATIONS.mkdir(exist_ok=True)
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[AuditRun, IdempotencyPurge],
        activities=[audit_system, purge_idempotency_records],
    ):
        for name, workflow_type in (
            ("audit_run", AUDIT_WORKFLOW_TYPE),
            ("idempotency_purge", IDEMPOTENCY_PURGE_WORKFLOW_TYPE),
        ):
            handle = await env.client.start_workflow(
                workflow_type, id=f"{name}-recorded", task_queue=task_queue
            )
            await handle.result()
            await write(handle, OPERATIONS / f"{name}.json")


async def write(handle: WorkflowHandle, path: Path) -> None:
    history = await handle.fetch_history()
    path.write_text(without_stack_traces(history.to_json()))
    print(f"recorded {path.stem}: {len(history.events)} events")


def without_stack_traces(history_json: str) -> str:
    """The history with every failure's stack trace emptied: replay never reads them, and they name
    files of the machine that recorded them."""

    def scrub(node):
        if isinstance(node, dict):
            return {key: "" if key == "stackTrace" else scrub(value) for key, value in node.items()}
        if isinstance(node, list):
            return [scrub(value) for value in node]
        return node

    return json.dumps(scrub(json.loads(history_json)), indent=2)


if __name__ == "__main__":
    asyncio.run(record())
    sys.stdout.flush()
    os._exit(0)  # temporalio can crash at interpreter exit

"""Records the event history of every saga scenario into tests/workflow/histories/<name>.json.

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
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from orchestrator.search_attributes import register
from saga_contract import NAMESPACE
from tests.workflow.scenarios import SCENARIOS

HISTORIES = Path(__file__).parent / "histories"
TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


async def record() -> None:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER)
    ) as env:
        await register(env.client, NAMESPACE)
        for scenario in SCENARIOS:
            _, handle, result, _ = await scenario.run(env)
            assert (result["status"], result["reason"]) == scenario.expected, (scenario.name, result)
            history = await handle.fetch_history()
            (HISTORIES / f"{scenario.name}.json").write_text(without_stack_traces(history.to_json()))
            print(f"recorded {scenario.name}: {len(history.events)} events")


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

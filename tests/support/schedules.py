"""Runs of the stack's schedules on demand: a test stack creates them paused, and a test triggers the
run it wants and waits for its end (bounded)."""

import asyncio
import time
from typing import Any

from temporalio.client import Client, ScheduleActionExecutionStartWorkflow, ScheduleOverlapPolicy

from saga_contract import NAMESPACE

RUN_TIMEOUT_SECONDS = 60


def run_once(stack: Any, schedule_id: str) -> tuple[str, str, Any]:
    """Trigger the schedule of `stack`, wait for the run it starts to end; (workflow id, type, result)."""
    return asyncio.run(_run_once(stack.temporal_address, schedule_id))


async def _run_once(address: str, schedule_id: str) -> tuple[str, str, Any]:
    """Trigger the schedule, wait for the run it starts to end; (workflow id, type, result)."""
    client = await Client.connect(address, namespace=NAMESPACE)
    schedule = client.get_schedule_handle(schedule_id)
    before = {
        action.action.workflow_id
        for action in (await schedule.describe()).info.recent_actions
        if isinstance(action.action, ScheduleActionExecutionStartWorkflow)
    }
    await schedule.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while True:
        started = [
            action.action.workflow_id
            for action in (await schedule.describe()).info.recent_actions
            if isinstance(action.action, ScheduleActionExecutionStartWorkflow)
            and action.action.workflow_id not in before
        ]
        if started:
            break
        assert time.monotonic() < deadline, f"{schedule_id}: no run started"
        await asyncio.sleep(0.2)
    run = client.get_workflow_handle(started[-1])
    result = await asyncio.wait_for(run.result(), timeout=max(deadline - time.monotonic(), 1))
    return run.id, (await run.describe()).workflow_type, result

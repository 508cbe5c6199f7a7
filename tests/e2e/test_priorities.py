"""Under a backlog, the task queue hands out the saga's settling steps before its forward ones.

The real OrderSaga runs on a dev server of its own, started as the stack starts it, with the fake
services of the workflow tests. Forward sagas queue their reservations while no activity worker
runs; sagas with a one-second deadline then queue theirs, time out, and queue their compensation
behind all of them. One slow worker with a single slot then drains the queue, and the order in
which it ran the steps is the measurement (printed; `pytest -s` shows it).
"""

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from orchestrator.policies import FORWARD_PRIORITY, SETTLING_PRIORITY
from orchestrator.workflows import OrderSaga
from saga_contract import NAMESPACE, TASK_QUEUE, WORKFLOW_TYPE, OrderSagaInput, workflow_id
from tests.support.dev_server import dev_server, make_current, versioned
from tests.workflow.fakes import FakeSagaServices
from tests.workflow.scenarios import CUSTOMER, ITEMS

pytestmark = [pytest.mark.asyncio, pytest.mark.any_database]

FORWARD_SAGAS = 12
EXPIRING_SAGAS = 4
STEP_SECONDS = 0.25
"""How long the slow worker takes over each step: longer than a workflow task takes to queue a saga's
next step on a busy host, so that a cancel queued after its release is not outrun by the backlog."""


class SlowServices(FakeSagaServices):
    """The fake services, each attempt taking STEP_SECONDS."""

    async def _attempt(self, name: str, arg: Any) -> None:
        await asyncio.sleep(STEP_SECONDS)
        await super()._attempt(name, arg)

    def ran(self) -> list[tuple[str, str]]:
        """(activity, order id) of every attempt, in the order they ran."""
        args = {name: iter(inputs) for name, inputs in self.inputs.items()}
        return [(name, next(args[name]).order_id) for name in self.calls]


async def start_saga(client: Client, deadline_seconds: int) -> tuple[str, WorkflowHandle[Any, Any]]:
    order_id = str(uuid.uuid4())
    saga = OrderSagaInput(order_id, CUSTOMER, ITEMS, "USD", deadline_seconds)
    handle = await client.start_workflow(
        WORKFLOW_TYPE, saga.as_payload(), id=workflow_id(order_id), task_queue=TASK_QUEUE
    )
    return order_id, handle


async def pending(handle: WorkflowHandle[Any, Any]) -> list[tuple[str, int]]:
    """(activity type, priority key) of each activity the saga waits on."""
    description = await handle.describe()
    return [
        (activity.activity_type.name, activity.priority.priority_key)
        for activity in description.raw_description.pending_activities
    ]


async def eventually_waits_on(handle: WorkflowHandle[Any, Any], activity: str, timeout: float = 30) -> int:
    """Wait until the saga's only pending activity is `activity`; its priority key."""
    deadline = time.monotonic() + timeout
    while len(waits := await pending(handle)) != 1 or waits[0][0] != activity:
        assert time.monotonic() < deadline, f"{handle.id} waits on {waits}, not {activity}"
        await asyncio.sleep(0.1)
    return waits[0][1]


def report(ran: list[tuple[str, str]], expiring_ids: set[str]) -> str:
    """What the docs quote: where the expiring sagas' compensations and the reservations ran."""
    compensations = [n for n, (_, order) in enumerate(ran, start=1) if order in expiring_ids]
    reservations = [n for n, (activity, _) in enumerate(ran, start=1) if activity == "reserve_stock"]
    steps = " ".join(f"{activity}{'*' if order in expiring_ids else ''}" for activity, order in ran)
    return (
        f"release and cancel of the expiring sagas ran {compensations}; reservations ran {reservations}\n"
        f"order (* expiring saga): {steps}"
    )


async def drain_backlog(var_dir: Path, *server_args: str) -> tuple[list[tuple[str, str]], set[str]]:
    """Build the backlog, drain it with one slow single-slot worker; (activity, order id) in the order
    they ran, and the ids of the expiring sagas."""
    fake = SlowServices()
    with dev_server(var_dir, *server_args) as config:
        client = await Client.connect(config.temporal_address, namespace=NAMESPACE)
        async with Worker(
            client, task_queue=TASK_QUEUE, workflows=[OrderSaga], deployment_config=versioned()
        ):
            await make_current(config.temporal_address)
            forward = [await start_saga(client, deadline_seconds=300) for _ in range(FORWARD_SAGAS)]
            for _, handle in forward:
                assert await eventually_waits_on(handle, "reserve_stock") == FORWARD_PRIORITY.priority_key
            expiring = [await start_saga(client, deadline_seconds=1) for _ in range(EXPIRING_SAGAS)]
            for _, handle in expiring:
                assert await eventually_waits_on(handle, "release_stock") == SETTLING_PRIORITY.priority_key

            async with Worker(
                client,
                task_queue=TASK_QUEUE,
                activities=fake.all(),
                max_concurrent_activities=1,
                deployment_config=versioned(),
            ):
                results = await asyncio.wait_for(
                    asyncio.gather(*(handle.result() for _, handle in forward + expiring)), timeout=180
                )
    assert [result["status"] for result in results] == ["CONFIRMED"] * FORWARD_SAGAS + [
        "CANCELLED"
    ] * EXPIRING_SAGAS
    ran = fake.ran()
    expiring_ids = {order_id for order_id, _ in expiring}
    print(report(ran, expiring_ids))
    return ran, expiring_ids


async def test_settling_steps_overtake_a_backlog_of_forward_steps(tmp_path: Path) -> None:
    """The dev server as the stack runs it hands out the settling steps before the forward steps
    that wait with them."""
    ran, expiring_ids = await drain_backlog(tmp_path)

    # Every release was queued after every reservation, and yet all of them run first.
    assert [activity for activity, _ in ran[:EXPIRING_SAGAS]] == ["release_stock"] * EXPIRING_SAGAS
    assert {order for _, order in ran[:EXPIRING_SAGAS]} == expiring_ids
    # Each cancel is queued once its release has run, and still goes ahead of the reservations.
    cancels = [n for n, (activity, _) in enumerate(ran) if activity == "cancel_order"]
    assert max(cancels) <= 2 * EXPIRING_SAGAS, "at most one forward step ahead of the cancels"


async def test_without_the_priority_matcher_the_same_backlog_drains_first_in_first_out(
    tmp_path: Path,
) -> None:
    """The evidence that the order above comes from the priority keys: with the server's older
    matcher, which ignores them, the reservations queued first run first."""
    ran, expiring_ids = await drain_backlog(
        tmp_path, "--dynamic-config-value", "matching.useNewMatcher=false"
    )

    assert {activity for activity, _ in ran[:FORWARD_SAGAS]} == {"reserve_stock"}
    assert {order for _, order in ran[FORWARD_SAGAS : FORWARD_SAGAS + EXPIRING_SAGAS]} == expiring_ids

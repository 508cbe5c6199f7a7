"""The bench's floor: the real OrderSaga served with no-op activities, run as activities (the
product's design) or, through the floor worker's interceptor, as local activities."""

import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.bench.floor_worker import LocalActivities, NoopSagaActivities
from orchestrator.workflows import OrderSaga
from saga_contract import WORKFLOW_TYPE, OrderSagaInput

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEPS = ["reserve_stock", "authorize_payment", "capture_payment", "commit_stock", "confirm_order"]


@pytest.mark.parametrize("local", [False, True], ids=["activities", "local-activities"])
async def test_the_floor_confirms_through_every_step(env: WorkflowEnvironment, local: bool) -> None:
    task_queue = f"floor-{uuid.uuid4()}"
    saga = OrderSagaInput(str(uuid.uuid4()), "floor-customer", [{"sku": "SKU-A", "quantity": 2}])
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[OrderSaga],
        activities=NoopSagaActivities().all(),
        interceptors=[LocalActivities()] if local else [],
    ):
        handle = await env.client.start_workflow(
            WORKFLOW_TYPE, saga.as_payload(), id=f"floor-{saga.order_id}", task_queue=task_queue
        )
        result = await handle.result()
        events = [event async for event in handle.fetch_history_events()]

    assert (result["status"], result["total_cents"]) == ("CONFIRMED", 200)
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    local_runs = [
        event
        for event in events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]
    if local:
        assert (scheduled, len(local_runs)) == ([], len(STEPS))
    else:
        assert (scheduled, local_runs) == (STEPS, [])

"""A customer's cancel (the `cancel` Update and its validator), and what the Web UI and the progress
query show of a saga: every scenario ends as it should, on the time-skipping test server."""

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from orchestrator.workflows import CUSTOMER_ID, ORDER_STATUS, ORDER_TOTAL_CENTS, SAGA_STEP
from saga_contract import CANCEL_UPDATE, PROGRESS_QUERY
from tests.workflow.fakes import FakeSagaServices
from tests.workflow.scenarios import CUSTOMER, SCENARIOS, cancel_while, saga

pytestmark = pytest.mark.asyncio(loop_scope="session")

TOTAL_CENTS = 2900


async def update_events(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    names = [EventType.Name(event.event_type) for event in history.events]
    return [name for name in names if "UPDATE" in name]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
async def test_every_scenario_ends_as_it_should(env: WorkflowEnvironment, scenario) -> None:
    _, _, result, _ = await scenario.run(env)
    assert (result["status"], result["reason"]) == scenario.expected


async def test_a_cancel_while_a_step_runs_waits_for_it_and_compensates_it_too(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices()
    async with saga(env, fake) as (_order_id, handle):
        accepted = await cancel_while(fake, handle, "authorize_payment")
        result = await handle.result()
        steps = {step["name"]: step for step in await handle.query(PROGRESS_QUERY)}

    assert accepted
    assert (result["status"], result["reason"]) == ("CANCELLED", "customer_cancelled")
    # The running authorization finished, then was voided; nothing went past the pivot.
    assert fake.calls == [
        "reserve_stock",
        "authorize_payment",
        "void_payment",
        "release_stock",
        "cancel_order",
    ]
    assert fake.inputs["cancel_order"][0].reason == "customer_cancelled"
    assert [steps[name]["state"] for name in ("reserve_stock", "authorize_payment", "capture_payment")] == [
        "compensated",
        "compensated",
        "pending",
    ]
    assert steps["reserve_stock"]["compensated_at"] >= steps["reserve_stock"]["finished_at"]


async def test_a_cancel_after_the_pivot_is_refused_and_never_reaches_history(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices()
    async with saga(env, fake) as (_order_id, handle):
        accepted = await cancel_while(fake, handle, "capture_payment")
        result = await handle.result()
        updates = await update_events(handle)

    assert accepted is False
    assert result["status"] == "CONFIRMED"
    assert "void_payment" not in fake.calls
    assert "release_stock" not in fake.calls
    assert updates == []  # a rejected Update leaves no event


async def test_an_accepted_cancel_is_in_history(env: WorkflowEnvironment) -> None:
    fake = FakeSagaServices()
    async with saga(env, fake) as (_, handle):
        await cancel_while(fake, handle, "reserve_stock")
        await handle.result()
        updates = await update_events(handle)

    assert updates == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED",
    ]


async def test_a_cancel_while_compensating_is_refused_and_interrupts_nothing(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices(always={"authorize_payment": "payment_declined"})
    async with saga(env, fake) as (_, handle):
        accepted = await cancel_while(fake, handle, "release_stock")
        result = await handle.result()

    assert accepted is False
    assert (result["status"], result["reason"]) == ("CANCELLED", "payment_declined")
    assert fake.calls == [
        "reserve_stock",
        "authorize_payment",
        "void_payment",
        "release_stock",
        "cancel_order",
    ]


async def test_a_cancel_of_a_final_saga_is_refused(env: WorkflowEnvironment) -> None:
    fake = FakeSagaServices()
    async with saga(env, fake) as (_, handle):
        await handle.result()
        # A closed workflow takes no Update: the server answers NOT_FOUND, as order_svc expects.
        with pytest.raises(RPCError) as refused:
            await handle.execute_update(CANCEL_UPDATE)
    assert refused.value.status == RPCStatusCode.NOT_FOUND
    assert "cancel_order" not in fake.calls


@pytest.mark.parametrize(
    ("always", "status"), [({}, "CONFIRMED"), ({"authorize_payment": "payment_declined"}, "CANCELLED")]
)
async def test_search_attributes_and_memo_follow_the_saga(env: WorkflowEnvironment, always, status) -> None:
    async with saga(env, FakeSagaServices(always=always)) as (_, handle):
        await handle.result()
        described = await handle.describe()

    attributes = described.typed_search_attributes
    assert attributes.get(CUSTOMER_ID) == CUSTOMER
    assert attributes.get(ORDER_STATUS) == status
    assert attributes.get(ORDER_TOTAL_CENTS) == TOTAL_CENTS
    assert attributes.get(SAGA_STEP) == ("confirm_order" if status == "CONFIRMED" else "cancel_order")
    memo = await described.memo()
    assert memo["items"] == [{"sku": "SKU-RED", "quantity": 2}, {"sku": "SKU-BLUE", "quantity": 1}]
    assert (memo["total_cents"], memo["currency"]) == (TOTAL_CENTS, "USD")


async def test_progress_has_states_and_times(env: WorkflowEnvironment) -> None:
    async with saga(env, FakeSagaServices(always={"reserve_stock": "out_of_stock"})) as (_, handle):
        await handle.result()
        steps = await handle.query(PROGRESS_QUERY)

    reserve = steps[0]
    assert reserve["name"] == "reserve_stock"
    assert reserve["state"] == "compensated"
    assert reserve["started_at"] <= reserve["finished_at"] <= reserve["compensated_at"]
    assert "out_of_stock" in reserve["last_error"]
    assert [step["state"] for step in steps[1:]] == ["pending"] * 4

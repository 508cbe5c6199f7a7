"""Every branch of the OrderSaga workflow: recording fake activities, time-skipping test server."""

import itertools
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from orchestrator.contracts import OrderRef, PricedLine
from orchestrator.policies import BEFORE_PIVOT, attempts_within
from tests.workflow.fakes import LOST_REPLY, TRANSIENT, FakeSagaServices
from tests.workflow.scenarios import saga

pytestmark = pytest.mark.asyncio(loop_scope="session")

PRICED_LINES = [PricedLine("SKU-RED", 2, 1250), PricedLine("SKU-BLUE", 1, 400)]
TOTAL_CENTS = 2900


async def progress_of(handle: WorkflowHandle[Any, Any]) -> dict[str, str]:
    return {step["name"]: step["state"] for step in await handle.query("progress")}


def without_repeats(calls: list[str]) -> list[str]:
    """The call list with consecutive attempts of one activity shown once."""
    return [name for name, _ in itertools.groupby(calls)]


def cancelled(order_id: str, reason: str) -> dict[str, Any]:
    return {"order_id": order_id, "status": "CANCELLED", "reason": reason, "total_cents": None}


async def test_success_runs_every_step_once_in_order(env: WorkflowEnvironment) -> None:
    fake = FakeSagaServices()
    async with saga(env, fake) as (order_id, handle):
        result = await handle.result()
        progress = await progress_of(handle)

    assert result == {
        "order_id": order_id,
        "status": "CONFIRMED",
        "reason": None,
        "total_cents": TOTAL_CENTS,
    }
    assert fake.calls == [
        "reserve_stock",
        "authorize_payment",
        "capture_payment",
        "commit_stock",
        "confirm_order",
    ]
    (authorize,) = fake.inputs["authorize_payment"]
    assert (authorize.customer_id, authorize.amount_cents, authorize.currency) == (
        "cust-1",
        TOTAL_CENTS,
        "USD",
    )
    (confirm,) = fake.inputs["confirm_order"]
    assert (confirm.order_id, confirm.lines, confirm.total_cents, confirm.currency) == (
        order_id,
        PRICED_LINES,
        TOTAL_CENTS,
        "USD",
    )
    assert fake.inputs["capture_payment"] == [OrderRef(order_id)]
    assert fake.inputs["commit_stock"] == [OrderRef(order_id)]
    assert set(progress.values()) == {"done"}


@pytest.mark.parametrize("code", ["unknown_sku", "out_of_stock"])
async def test_stock_refused_releases_and_cancels_without_lines(env: WorkflowEnvironment, code: str) -> None:
    fake = FakeSagaServices(script={"reserve_stock": [code]})
    async with saga(env, fake) as (order_id, handle):
        result = await handle.result()
        progress = await progress_of(handle)

    assert result == cancelled(order_id, code)
    assert fake.calls == ["reserve_stock", "release_stock", "cancel_order"]
    (cancel,) = fake.inputs["cancel_order"]
    assert (cancel.reason, cancel.lines, cancel.total_cents) == (code, None, None)
    assert progress == {
        "reserve_stock": "compensated",
        "authorize_payment": "pending",
        "capture_payment": "pending",
        "commit_stock": "pending",
        "confirm_order": "pending",
    }


async def test_payment_declined_voids_then_releases_then_cancels_with_lines(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices(script={"authorize_payment": ["payment_declined"]})
    async with saga(env, fake) as (order_id, handle):
        result = await handle.result()
        progress = await progress_of(handle)

    assert result == cancelled(order_id, "payment_declined")
    assert fake.calls == [
        "reserve_stock",
        "authorize_payment",
        "void_payment",
        "release_stock",
        "cancel_order",
    ]
    assert fake.inputs["void_payment"] == [OrderRef(order_id)]
    assert fake.inputs["release_stock"] == [OrderRef(order_id)]
    (cancel,) = fake.inputs["cancel_order"]
    assert (cancel.reason, cancel.lines, cancel.total_cents, cancel.currency) == (
        "payment_declined",
        PRICED_LINES,
        TOTAL_CENTS,
        "USD",
    )
    assert progress["reserve_stock"] == "compensated"
    assert progress["authorize_payment"] == "compensated"
    assert progress["capture_payment"] == "pending"


async def test_lost_reply_before_a_decline_is_still_compensated(env: WorkflowEnvironment) -> None:
    fake = FakeSagaServices(script={"authorize_payment": [LOST_REPLY, "payment_declined"]})
    async with saga(env, fake) as (order_id, handle):
        result = await handle.result()

    assert result == cancelled(order_id, "payment_declined")
    assert fake.calls == [
        "reserve_stock",
        "authorize_payment",
        "authorize_payment",
        "void_payment",
        "release_stock",
        "cancel_order",
    ]
    assert fake.effects == [
        "reserve_stock",
        "authorize_payment",
        "void_payment",
        "release_stock",
        "cancel_order",
    ]


async def test_reservation_whose_reply_never_arrives_is_released_at_the_deadline(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices(always={"reserve_stock": LOST_REPLY})
    async with saga(env, fake, deadline_seconds=60) as (order_id, handle):
        result = await handle.result()
        progress = await progress_of(handle)

    assert result == cancelled(order_id, "timed_out")
    assert fake.calls.count("reserve_stock") > 1
    assert without_repeats(fake.calls) == ["reserve_stock", "release_stock", "cancel_order"]
    assert without_repeats(fake.effects) == ["reserve_stock", "release_stock", "cancel_order"]
    (cancel,) = fake.inputs["cancel_order"]
    assert (cancel.reason, cancel.lines) == ("timed_out", None)
    assert progress["reserve_stock"] == "compensated"


async def test_deadline_while_payment_keeps_failing_compensates_and_cancels(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices(always={"authorize_payment": TRANSIENT})
    async with saga(env, fake, deadline_seconds=60) as (order_id, handle):
        result = await handle.result()
        progress = await progress_of(handle)

    assert result == cancelled(order_id, "timed_out")
    # Retried within the deadline, and never more often than the policy's documented bound.
    assert 5 <= fake.calls.count("authorize_payment") <= attempts_within(BEFORE_PIVOT, timedelta(seconds=60))
    assert without_repeats(fake.calls) == [
        "reserve_stock",
        "authorize_payment",
        "void_payment",
        "release_stock",
        "cancel_order",
    ]
    (cancel,) = fake.inputs["cancel_order"]
    assert (cancel.reason, cancel.lines, cancel.total_cents) == (
        "timed_out",
        PRICED_LINES,
        TOTAL_CENTS,
    )
    assert progress["authorize_payment"] == "compensated"
    assert progress["capture_payment"] == "pending"


async def test_deadline_already_passed_cancels_without_attempting_a_step(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices()
    async with saga(env, fake, deadline_seconds=0) as (order_id, handle):
        result = await handle.result()
        progress = await progress_of(handle)

    assert result == cancelled(order_id, "timed_out")
    assert fake.calls == ["cancel_order"]
    assert set(progress.values()) == {"pending"}


async def test_transient_failures_after_the_pivot_are_retried_never_compensated(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices(
        script={
            "capture_payment": [TRANSIENT, LOST_REPLY],
            "commit_stock": [TRANSIENT, TRANSIENT, TRANSIENT],
            "confirm_order": [LOST_REPLY, TRANSIENT],
        }
    )
    # The retries run long past the 1 s deadline: it bounds only the steps before the pivot.
    async with saga(env, fake, deadline_seconds=1) as (_order_id, handle):
        result = await handle.result()

    assert result["status"] == "CONFIRMED"
    assert fake.calls == [
        "reserve_stock",
        "authorize_payment",
        *["capture_payment"] * 3,
        *["commit_stock"] * 4,
        *["confirm_order"] * 3,
    ]


async def test_compensation_is_retried_until_it_succeeds(env: WorkflowEnvironment) -> None:
    fake = FakeSagaServices(
        script={
            "authorize_payment": ["payment_declined"],
            "void_payment": [TRANSIENT, TRANSIENT],
            "release_stock": [TRANSIENT],
            "cancel_order": [TRANSIENT],
        }
    )
    async with saga(env, fake) as (order_id, handle):
        result = await handle.result()

    assert result == cancelled(order_id, "payment_declined")
    assert fake.calls == [
        "reserve_stock",
        "authorize_payment",
        *["void_payment"] * 3,
        *["release_stock"] * 2,
        *["cancel_order"] * 2,
    ]


async def test_unexpected_business_error_before_pivot_compensates_then_fails(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices(script={"authorize_payment": ["payment_conflict"]})
    async with saga(env, fake) as (_, handle):
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "saga_failed"
    assert "payment_conflict" in failure.value.cause.message
    assert fake.calls == ["reserve_stock", "authorize_payment", "void_payment", "release_stock"]


async def test_reservation_in_another_currency_is_released_then_fails(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices(currency="EUR")
    async with saga(env, fake) as (_, handle):
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "saga_failed"
    assert fake.calls == ["reserve_stock", "release_stock"]


async def test_business_error_after_pivot_fails_without_compensating(
    env: WorkflowEnvironment,
) -> None:
    fake = FakeSagaServices(script={"commit_stock": ["reservation_not_found"]})
    async with saga(env, fake) as (_, handle):
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        progress = await progress_of(handle)

    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "saga_failed"
    assert fake.calls == ["reserve_stock", "authorize_payment", "capture_payment", "commit_stock"]
    assert progress["commit_stock"] == "failed"
    assert progress["confirm_order"] == "pending"

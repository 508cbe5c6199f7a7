"""An operator pauses a step that keeps failing through a long outage, then unpauses it once the
service is back, with the Temporal CLI commands of the open-breaker runbook (docs/observability.md).

The real OrderSaga runs on a dev server of its own with the fake services of the workflow tests;
its capture fails as an unreachable payment_svc's would, and retries until it succeeds.
"""

import asyncio
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from infra.stack import BIN_DIR
from orchestrator.workflows import OrderSaga
from saga_contract import NAMESPACE, TASK_QUEUE, WORKFLOW_TYPE, OrderSagaInput, workflow_id
from tests.support.dev_server import dev_server, make_current, versioned
from tests.workflow.fakes import FakeSagaServices
from tests.workflow.scenarios import CUSTOMER, ITEMS

pytestmark = [pytest.mark.asyncio, pytest.mark.any_database]

STEP = "capture_payment"


class PaymentOutage(FakeSagaServices):
    """The fake services, with payment_svc unreachable for the capture until `end()`."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.failed_attempts = 0

    def end(self) -> None:
        self.down = False

    async def _attempt(self, name: str, arg: Any) -> None:
        if name == STEP and self.down:
            self.failed_attempts += 1
            raise ApplicationError(f"{name}: HTTP 503", type="ServiceUnavailable")
        await super()._attempt(name, arg)


def temporal(address: str, *args: str) -> str:
    """One Temporal CLI command, as the runbook shows it, against the test's server; its output."""
    done = subprocess.run(
        [str(BIN_DIR / "temporal"), *args, "--address", address, "--namespace", NAMESPACE],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def pending_step(address: str, saga_id: str) -> dict[str, str]:
    """The saga's one pending activity as `temporal workflow describe` lists it under "Pending
    Activities" (ActivityId, Type, State, Attempt, ...)."""
    described = temporal(address, "workflow", "describe", "--workflow-id", saga_id)
    pending = described.split("Pending Activities: ", 1)[1].split("Pending Child Workflows", 1)[0]
    count, *fields = pending.strip().splitlines()
    assert count == "1", pending
    activity = dict(line.strip().split(None, 1) for line in fields if line.strip())
    assert activity["Type"] == STEP
    return activity


def sagas_with_a_paused_step(address: str) -> str:
    return temporal(address, "workflow", "list", "--query", "TemporalPauseInfo IS NOT NULL")


async def eventually(check: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Visibility (the workflow list) lags a little behind the saga's state."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(0.2)


async def test_an_operator_pauses_a_failing_step_and_unpauses_it_once_the_service_is_back(
    tmp_path: Path,
) -> None:
    fake = PaymentOutage()
    with dev_server(tmp_path) as config:
        address = config.temporal_address
        client = await Client.connect(address, namespace=NAMESPACE)
        async with Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[OrderSaga],
            activities=fake.all(),
            deployment_config=versioned(),
        ):
            await make_current(address)
            order_id = str(uuid.uuid4())
            saga_id = workflow_id(order_id)
            handle = await client.start_workflow(
                WORKFLOW_TYPE,
                OrderSagaInput(order_id, CUSTOMER, ITEMS).as_payload(),
                id=saga_id,
                task_queue=TASK_QUEUE,
            )
            while fake.failed_attempts < 2:  # retried once: the outage is under way
                await asyncio.sleep(0.1)

            # The runbook: find the step's activity id, pause it, see it paused.
            activity_id = pending_step(address, saga_id)["ActivityId"]
            temporal(
                address,
                "activity", "pause",
                "--workflow-id", saga_id,
                "--activity-id", activity_id,
                "--reason", "payment_svc outage",
            )  # fmt: skip
            assert pending_step(address, saga_id)["State"] == "Paused"
            attempts_when_paused = fake.failed_attempts
            await eventually(
                lambda: saga_id in sagas_with_a_paused_step(address), "the saga listed as paused"
            )

            # Paused, it runs no further attempt, not even once the retry that was due falls due.
            await asyncio.sleep(5)
            assert fake.failed_attempts == attempts_when_paused
            assert pending_step(address, saga_id)["State"] == "Paused"

            # The service is back: unpause, and the saga goes on from the step it stopped at.
            fake.end()
            began = time.monotonic()
            temporal(address, "activity", "unpause", "--workflow-id", saga_id, "--activity-id", activity_id)
            result = await asyncio.wait_for(handle.result(), timeout=30)
            resumed_after = time.monotonic() - began
            await eventually(
                lambda: saga_id not in sagas_with_a_paused_step(address), "the saga no longer listed"
            )

    assert result["status"] == "CONFIRMED"
    assert fake.failed_attempts == attempts_when_paused
    assert fake.effects.count(STEP) == 1
    print(
        f"{attempts_when_paused} failed attempts before the pause, none while paused; "
        f"confirmed {resumed_after:.1f} s after the unpause"
    )

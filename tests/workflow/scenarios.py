"""Every branch of the saga as a scenario: the fake services' script and, where a customer takes
part, what it does while the saga runs. The workflow tests run them; `make record-histories`
records each one's event history under tests/workflow/histories/, which test_replay.py replays
against the current workflow code.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from orchestrator.workflows import OrderSaga
from saga_contract import CANCEL_UPDATE, WORKFLOW_TYPE, OrderSagaInput, workflow_id
from tests.workflow.fakes import TRANSIENT, FakeSagaServices

ITEMS = [{"sku": "SKU-RED", "quantity": 2}, {"sku": "SKU-BLUE", "quantity": 1}]
CUSTOMER = "cust-1"


@asynccontextmanager
async def saga(
    env: WorkflowEnvironment, fake: FakeSagaServices, *, deadline_seconds: int = 300
) -> AsyncIterator[tuple[str, WorkflowHandle[Any, Any]]]:
    """Start OrderSaga by name with the plain JSON payload order_svc's outbox holds."""
    order_id = str(uuid.uuid4())
    task_queue = f"orders-{uuid.uuid4()}"
    payload = OrderSagaInput(order_id, CUSTOMER, ITEMS, "USD", deadline_seconds).as_payload()
    async with Worker(env.client, task_queue=task_queue, workflows=[OrderSaga], activities=fake.all()):
        handle = await env.client.start_workflow(
            WORKFLOW_TYPE, payload, id=workflow_id(order_id), task_queue=task_queue
        )
        yield order_id, handle


async def cancel_while(fake: FakeSagaServices, handle: WorkflowHandle, step: str) -> bool:
    """Hold `step` once it has begun, send the customer's cancel, then let the step finish.
    True when the cancel was accepted, False when the workflow refused it."""
    gate = fake.hold(step)
    await fake.entered[step].wait()
    try:
        await handle.execute_update(CANCEL_UPDATE)
        accepted = True
    except WorkflowUpdateFailedError:
        accepted = False
    gate.set()
    return accepted


@dataclass
class Scenario:
    name: str
    expected: tuple[str, str | None]
    """(status, reason) of the saga's result."""
    script: dict[str, list[str]] = field(default_factory=dict)
    always: dict[str, str] = field(default_factory=dict)
    deadline_seconds: int = 300
    cancel_during: str | None = None
    """A step during which the customer cancels."""

    def fake(self) -> FakeSagaServices:
        return FakeSagaServices(script=self.script, always=self.always)

    async def run(
        self, env: WorkflowEnvironment, *, then: Callable[[WorkflowHandle], Awaitable[None]] | None = None
    ):
        """Run to the end: (fake, handle, result, whether a cancel was accepted)."""
        fake = self.fake()
        accepted = None
        async with saga(env, fake, deadline_seconds=self.deadline_seconds) as (_, handle):
            if self.cancel_during:
                accepted = await cancel_while(fake, handle, self.cancel_during)
            result = await handle.result()
            if then is not None:
                await then(handle)
        return fake, handle, result, accepted


SCENARIOS = [
    Scenario("confirmed", ("CONFIRMED", None)),
    Scenario(
        "confirmed_after_capture_retries", ("CONFIRMED", None), script={"capture_payment": [TRANSIENT] * 2}
    ),
    Scenario("unknown_sku", ("CANCELLED", "unknown_sku"), always={"reserve_stock": "unknown_sku"}),
    Scenario("out_of_stock", ("CANCELLED", "out_of_stock"), always={"reserve_stock": "out_of_stock"}),
    Scenario(
        "payment_declined",
        ("CANCELLED", "payment_declined"),
        always={"authorize_payment": "payment_declined"},
    ),
    Scenario(
        "timed_out", ("CANCELLED", "timed_out"), always={"authorize_payment": TRANSIENT}, deadline_seconds=20
    ),
    Scenario(
        "compensation_retried",
        ("CANCELLED", "payment_declined"),
        always={"authorize_payment": "payment_declined"},
        script={"release_stock": [TRANSIENT] * 2},
    ),
    Scenario(
        "customer_cancel_before_pivot", ("CANCELLED", "customer_cancelled"), cancel_during="authorize_payment"
    ),
    Scenario("customer_cancel_after_pivot", ("CONFIRMED", None), cancel_during="capture_payment"),
]

"""What the workflow sandbox imports again for every saga it runs: the workflow module and its
package, nothing else. Every other module comes in passed through, imported once per worker; a
module the sandbox imports again is executed again for every saga (docs/benchmarks.md)."""

import uuid
from importlib.machinery import SourceFileLoader, SourcelessFileLoader
from types import ModuleType

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.bench.floor_worker import NoopSagaActivities
from orchestrator.workflows import OrderSaga
from saga_contract import WORKFLOW_TYPE, OrderSagaInput

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_each_saga_runs_the_workflow_module_again_and_no_other(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    executed: list[str] = []
    for loader in (SourceFileLoader, SourcelessFileLoader):

        def recording(self: object, module: ModuleType, run=loader.exec_module) -> None:
            executed.append(module.__name__)
            run(self, module)

        monkeypatch.setattr(loader, "exec_module", recording)

    task_queue = f"sandbox-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=task_queue, workflows=[OrderSaga], activities=NoopSagaActivities().all()
    ):
        executed.clear()  # what the worker imported to check the workflow at its start
        for _ in range(2):
            saga = OrderSagaInput(str(uuid.uuid4()), "customer", [{"sku": "SKU-A", "quantity": 1}])
            handle = await env.client.start_workflow(
                WORKFLOW_TYPE, saga.as_payload(), id=f"order-{saga.order_id}", task_queue=task_queue
            )
            assert (await handle.result())["status"] == "CONFIRMED"

    assert set(executed) == {"orchestrator", "orchestrator.workflows"}
    assert executed.count("orchestrator.workflows") >= 2, "once for each saga"

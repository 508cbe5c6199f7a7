"""A second release of the worker, for the rollout test: the same saga with one visible change, each
forward step scheduled with a summary that ends in V2_MARK (shown in the Web UI and kept in
history). Run as `python -m tests.e2e.saga_v2` with SAGA_BUILD_ID set, as the stack's rollout_worker
does; nothing runs at import, since the workflow sandbox imports this module again.
"""

from typing import Any

from temporalio import workflow
from temporalio.common import VersioningBehavior

from orchestrator.workflows import OrderSaga

with workflow.unsafe.imports_passed_through():
    from orchestrator.contracts import OrderSagaResult
    from saga_contract import WORKFLOW_TYPE, OrderSagaInput

V2_MARK = " (v2)"


@workflow.defn(name=WORKFLOW_TYPE, versioning_behavior=VersioningBehavior.PINNED)
class OrderSagaV2(OrderSaga):
    @workflow.run
    async def run(self, saga: OrderSagaInput) -> OrderSagaResult:
        return await super().run(saga)

    async def _before_pivot(self, step: str, activity: Any, arg: Any, *, summary: str, **rest: Any) -> Any:
        return await super()._before_pivot(step, activity, arg, summary=summary + V2_MARK, **rest)

    async def _after_pivot(self, step: str, activity: Any, arg: Any, summary: str) -> None:
        await super()._after_pivot(step, activity, arg, summary + V2_MARK)


if __name__ == "__main__":
    from orchestrator.worker import main

    main(OrderSagaV2)

"""The floor's worker: ``python -m infra.bench.floor_worker --task-queue Q [--local-activities]``.

Serves the real OrderSaga workflow with activities that answer at once and call nothing, so a saga
on its task queue costs exactly what Temporal and the worker cost: the floor the product is measured
against. With ``--local-activities`` an interceptor runs each of the saga's activities as a local
activity instead (same timeouts and retry policy), so the cost of the activity design is measured
on the same workflow code. Nothing runs at import; the process leaves through os._exit (temporalio
can crash at exit).
"""

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity
from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    StartLocalActivityInput,
    Worker,
    WorkerDeploymentConfig,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle

from infra.bench.measure import FLOOR_BUILD_ID, FLOOR_DEPLOYMENT
from infra.bench.saga_requests import UNIT_PRICE_CENTS
from orchestrator.bytecode import compile_orchestrator
from orchestrator.contracts import (
    AuthorizePaymentInput,
    CancelOrderInput,
    ConfirmOrderInput,
    OrderRef,
    PricedLine,
    Reservation,
    ReserveStockInput,
)
from orchestrator.workflows import OrderSaga
from saga_contract import DEFAULT_TEMPORAL_ADDRESS, NAMESPACE, Compensation, Step


class NoopSagaActivities:
    """The saga's activities by name, each answering at once as the services would on success."""

    def all(self) -> list[Callable[..., Awaitable[object]]]:
        return [
            self.reserve_stock,
            self.release_stock,
            self.commit_stock,
            self.authorize_payment,
            self.void_payment,
            self.capture_payment,
            self.confirm_order,
            self.cancel_order,
        ]

    @activity.defn(name=Step.RESERVE_STOCK)
    async def reserve_stock(self, request: ReserveStockInput) -> Reservation:
        lines = [PricedLine(item.sku, item.quantity, UNIT_PRICE_CENTS) for item in request.items]
        total = sum(line.quantity * line.unit_price_cents for line in lines)
        return Reservation(request.order_id, "RESERVED", lines, total, "USD")

    @activity.defn(name=Compensation.RELEASE_STOCK)
    async def release_stock(self, order: OrderRef) -> None:
        pass

    @activity.defn(name=Step.COMMIT_STOCK)
    async def commit_stock(self, order: OrderRef) -> None:
        pass

    @activity.defn(name=Step.AUTHORIZE_PAYMENT)
    async def authorize_payment(self, request: AuthorizePaymentInput) -> None:
        pass

    @activity.defn(name=Compensation.VOID_PAYMENT)
    async def void_payment(self, order: OrderRef) -> None:
        pass

    @activity.defn(name=Step.CAPTURE_PAYMENT)
    async def capture_payment(self, order: OrderRef) -> None:
        pass

    @activity.defn(name=Step.CONFIRM_ORDER)
    async def confirm_order(self, request: ConfirmOrderInput) -> None:
        pass

    @activity.defn(name=Compensation.CANCEL_ORDER)
    async def cancel_order(self, request: CancelOrderInput) -> None:
        pass


class LocalActivities(Interceptor):
    """Runs every activity the workflow schedules as a local activity of the same name and limits."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _LocalInbound


class _LocalInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_LocalOutbound(outbound))


class _LocalOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
        return self.next.start_local_activity(
            StartLocalActivityInput(
                activity=input.activity,
                args=input.args,
                activity_id=input.activity_id,
                schedule_to_close_timeout=input.schedule_to_close_timeout,
                schedule_to_start_timeout=input.schedule_to_start_timeout,
                start_to_close_timeout=input.start_to_close_timeout,
                retry_policy=input.retry_policy,
                local_retry_threshold=None,
                cancellation_type=input.cancellation_type,
                headers=input.headers,
                summary=input.summary,
                event_groups=input.event_groups,
                arg_types=input.arg_types,
                ret_type=input.ret_type,
            )
        )


async def serve(address: str, namespace: str, task_queue: str, local_activities: bool) -> None:
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    client = await Client.connect(address, namespace=namespace)
    interceptors = [LocalActivities()] if local_activities else []
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[OrderSaga],
        activities=NoopSagaActivities().all(),
        interceptors=interceptors,
        # Pinned like the product's sagas, on a deployment of its own: the floor pays what versioning costs.
        deployment_config=WorkerDeploymentConfig(
            version=WorkerDeploymentVersion(FLOOR_DEPLOYMENT, FLOOR_BUILD_ID), use_worker_versioning=True
        ),
    ):
        await make_current(client, namespace)
        kind = "local activities" if local_activities else "activities"
        print(f"floor worker serving {task_queue!r} on {address} with {kind}", flush=True)
        await stop.wait()


async def make_current(client: Client, namespace: str, *, patience: float = 30.0) -> None:
    """Make the floor's version current in its deployment, once the server has seen it poll."""
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=namespace, deployment_name=FLOOR_DEPLOYMENT, build_id=FLOOR_BUILD_ID
    )
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            return
        except RPCError:
            if asyncio.get_running_loop().time() >= deadline:
                raise
            await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default=DEFAULT_TEMPORAL_ADDRESS)
    parser.add_argument("--namespace", default=NAMESPACE)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument(
        "--local-activities", action="store_true", help="run the activities as local activities"
    )
    args = parser.parse_args()
    code = 0
    compile_orchestrator()  # as the product's worker does: the same workflow module, the same imports
    try:
        asyncio.run(serve(args.address, args.namespace, args.task_queue, args.local_activities))
    except Exception as error:  # reported on one line; the bench reads the log
        print(f"floor worker failed: {error}", file=sys.stderr, flush=True)
        code = 1
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

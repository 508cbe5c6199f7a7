"""The floor's worker: ``python -m infra.bench.floor_worker --task-queue Q``.

Serves the real OrderSaga workflow with activities that answer at once and call nothing, so a saga
on its task queue costs exactly what Temporal and the worker cost: the floor the product is measured
against. Nothing runs at import; the process leaves through os._exit (temporalio can crash at exit).
"""

import argparse
import asyncio
import os
import signal
import sys

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

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

UNIT_PRICE_CENTS = 100


class NoopSagaActivities:
    """The saga's activities by name, each answering at once as the services would on success."""

    def all(self) -> list:
        return [
            self.reserve_stock, self.release_stock, self.commit_stock, self.authorize_payment,
            self.void_payment, self.capture_payment, self.confirm_order, self.cancel_order,
        ]

    @activity.defn(name="reserve_stock")
    async def reserve_stock(self, request: ReserveStockInput) -> Reservation:
        lines = [PricedLine(item.sku, item.quantity, UNIT_PRICE_CENTS) for item in request.items]
        total = sum(line.quantity * line.unit_price_cents for line in lines)
        return Reservation(request.order_id, "RESERVED", lines, total, "USD")

    @activity.defn(name="release_stock")
    async def release_stock(self, order: OrderRef) -> None:
        pass

    @activity.defn(name="commit_stock")
    async def commit_stock(self, order: OrderRef) -> None:
        pass

    @activity.defn(name="authorize_payment")
    async def authorize_payment(self, request: AuthorizePaymentInput) -> None:
        pass

    @activity.defn(name="void_payment")
    async def void_payment(self, order: OrderRef) -> None:
        pass

    @activity.defn(name="capture_payment")
    async def capture_payment(self, order: OrderRef) -> None:
        pass

    @activity.defn(name="confirm_order")
    async def confirm_order(self, request: ConfirmOrderInput) -> None:
        pass

    @activity.defn(name="cancel_order")
    async def cancel_order(self, request: CancelOrderInput) -> None:
        pass


async def serve(address: str, namespace: str, task_queue: str) -> None:
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    client = await Client.connect(address, namespace=namespace)
    async with Worker(client, task_queue=task_queue, workflows=[OrderSaga], activities=NoopSagaActivities().all()):
        print(f"floor worker serving {task_queue!r} on {address}", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--namespace", default=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    parser.add_argument("--task-queue", required=True)
    args = parser.parse_args()
    code = 0
    try:
        asyncio.run(serve(args.address, args.namespace, args.task_queue))
    except Exception as error:  # reported on one line; the bench reads the log
        print(f"floor worker failed: {error}", file=sys.stderr, flush=True)
        code = 1
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

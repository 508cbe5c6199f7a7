"""Temporal activities of the order saga: each is one service call through a ServiceClient.

An activity turns the answer into a result, or into an ApplicationError the workflow's retry
policies understand. It holds no saga logic: ordering, compensation and deadlines belong to the
workflow.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from temporalio import activity
from temporalio.converter import value_to_type
from temporalio.exceptions import ApplicationError

from orchestrator import metrics
from orchestrator.clients import ServiceClient
from orchestrator.contracts import (
    BAD_RESPONSE,
    AuthorizePaymentInput,
    CancelOrderInput,
    ConfirmOrderInput,
    OrderRef,
    Reservation,
    ReserveStockInput,
)
from orchestrator.errors import BusinessError, CircuitOpen, TransientServiceError
from orchestrator.policies import HEARTBEAT_INTERVAL
from saga_contract import Compensation, Step, idempotency_key


class SagaActivities:
    """The saga's calls to inventory_svc, payment_svc and order_svc, one client per service.

    Every call carries the idempotency key ``<workflow id>:<activity name>``: the same on every
    attempt of a step, so a repeated activity never repeats an effect.
    """

    def __init__(self, *, inventory: ServiceClient, payment: ServiceClient, orders: ServiceClient) -> None:
        self._inventory = inventory
        self._payment = payment
        self._orders = orders

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity, bound to these clients, ready for a Worker."""
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
        body = await self._post(
            self._inventory, "/internal/v1/reservations", asdict(request), request.order_id
        )
        try:
            reservation: Reservation = value_to_type(Reservation, body)
        except TypeError as error:
            raise ApplicationError(
                f"inventory_svc answered with an unreadable reservation: {error}",
                type=BAD_RESPONSE,
                non_retryable=True,
            ) from error
        return reservation

    @activity.defn(name=Compensation.RELEASE_STOCK)
    async def release_stock(self, order: OrderRef) -> None:
        path = f"/internal/v1/reservations/{_segment(order.order_id)}/release"
        await self._post(self._inventory, path, {}, order.order_id)

    @activity.defn(name=Step.COMMIT_STOCK)
    async def commit_stock(self, order: OrderRef) -> None:
        path = f"/internal/v1/reservations/{_segment(order.order_id)}/commit"
        await self._post(self._inventory, path, {}, order.order_id)

    @activity.defn(name=Step.AUTHORIZE_PAYMENT)
    async def authorize_payment(self, request: AuthorizePaymentInput) -> None:
        await self._post(self._payment, "/internal/v1/payments/authorize", asdict(request), request.order_id)

    @activity.defn(name=Compensation.VOID_PAYMENT)
    async def void_payment(self, order: OrderRef) -> None:
        await self._post(self._payment, "/internal/v1/payments/void", asdict(order), order.order_id)

    @activity.defn(name=Step.CAPTURE_PAYMENT)
    async def capture_payment(self, order: OrderRef) -> None:
        await self._post(self._payment, "/internal/v1/payments/capture", asdict(order), order.order_id)

    @activity.defn(name=Step.CONFIRM_ORDER)
    async def confirm_order(self, request: ConfirmOrderInput) -> None:
        path = f"/internal/v1/orders/{_segment(request.order_id)}/confirm"
        body = {key: value for key, value in asdict(request).items() if key != "order_id"}
        await self._post(self._orders, path, body, request.order_id)

    @activity.defn(name=Compensation.CANCEL_ORDER)
    async def cancel_order(self, request: CancelOrderInput) -> None:
        path = f"/internal/v1/orders/{_segment(request.order_id)}/cancel"
        body = {
            key: value for key, value in asdict(request).items() if key != "order_id" and value is not None
        }
        await self._post(self._orders, path, body, request.order_id)

    async def _post(
        self, client: ServiceClient, path: str, body: dict[str, Any], order_id: str
    ) -> dict[str, Any]:
        return await self._call(client, "POST", path, body, order_id)

    async def _call(
        self, client: ServiceClient, method: str, path: str, body: dict[str, Any] | None, order_id: str
    ) -> dict[str, Any]:
        """One service call, heartbeating while it runs; client errors become ApplicationErrors."""
        info = activity.info()
        workflow_id = info.workflow_id
        if workflow_id is None:
            raise ApplicationError("saga activities run only inside a workflow", non_retryable=True)
        activity.logger.info("calling %s %s", client.service, path, extra={"order_id": order_id})
        metrics.attempt_started()
        heartbeats = asyncio.create_task(_heartbeat_while_running())
        try:
            if method == "GET":
                return await client.get(path, order_id=order_id, workflow_id=workflow_id)
            if body is None:
                raise TypeError(f"a {method} call needs a body")
            return await client.post(
                path,
                body,
                idempotency_key=idempotency_key(workflow_id, info.activity_type),
                order_id=order_id,
                workflow_id=workflow_id,
            )
        except BusinessError as error:
            activity.logger.warning("business failure: %s", error, extra={"order_id": order_id})
            raise ApplicationError(
                error.message, error.details, type=error.code, non_retryable=True
            ) from None  # see below
        except CircuitOpen as error:
            # Fail fast, and let Temporal's next attempt wait until the breaker allows a trial
            # call: an outage pauses the saga instead of burning its attempts.
            raise ApplicationError(
                str(error),
                type=type(error).__name__,
                # Jittered, so the sagas an outage paused do not all come back at the same instant.
                next_retry_delay=timedelta(seconds=max(error.retry_after, 0.5) + random.uniform(0, 1)),
            ) from None
        except TransientServiceError as error:
            activity.logger.warning("transient failure: %s", error, extra={"order_id": order_id})
            # The failure Temporal keeps (and the saga's progress shows) is the message alone: the client
            # layer's chained stack traces can pass the server's failure size limit, which would
            # replace the message by "Failure exceeds size limit". The worker's log has the rest.
            raise ApplicationError(str(error), type=type(error).__name__) from None
        finally:
            heartbeats.cancel()


async def _heartbeat_while_running() -> None:
    """Tell Temporal this attempt is alive, once a second while the call runs, so a worker that dies
    is noticed within the heartbeat timeout instead of the much longer start-to-close timeout.

    The first heartbeat waits an interval: a call that ends sooner (nearly all of them) sends none,
    since each heartbeat is a write on the server (docs/benchmarks.md); the timeout (5 s) still
    starts with the attempt, so a worker killed at once is noticed just as early."""
    while True:
        await asyncio.sleep(HEARTBEAT_INTERVAL.total_seconds())
        activity.heartbeat()


def _segment(order_id: str) -> str:
    """The order id as one URL path segment."""
    return quote(order_id, safe="")

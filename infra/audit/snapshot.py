"""What the audit reads, and only reads: every account, payment, product, reservation, order and their
ledgers over the services' REST API, and each order's workflow over Temporal's client API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from infra.rest import ApiError, JsonObject, RestClient, ServiceCallError
from observability.tracing import temporal_tracing_plugins
from saga_contract import WORKFLOW_TYPE, order_id_of, workflow_id

TEMPORAL_CONCURRENCY = 20

FINAL = ("CONFIRMED", "CANCELLED")


class TemporalUnavailable(ServiceCallError):
    """Temporal could not be asked about the workflows."""


@dataclass(frozen=True)
class WorkflowState:
    status: str
    """A WorkflowExecutionStatus name: RUNNING, COMPLETED, FAILED, TERMINATED, TIMED_OUT, ..."""
    start_time: datetime
    result: JsonObject | None
    """The saga's result, for a COMPLETED workflow."""


@dataclass
class Snapshot:
    """Everything the audit read, as the services answered it (JSON objects)."""

    orders: dict[str, JsonObject]
    workflows: dict[str, WorkflowState | None]  # order id -> its workflow, None when there is none
    orphan_workflows: dict[str, str]  # workflow id -> why no order goes with it
    accounts: list[JsonObject]
    merchant_cents: int
    payments: list[JsonObject]
    payment_events: list[JsonObject]
    products: list[JsonObject]
    reservations: list[JsonObject]
    reservation_events: list[JsonObject]
    read_workflows_at: datetime
    events: dict[str, list[JsonObject]] = field(default_factory=dict)
    """Each service's integration events (its events outbox), by service name."""
    notifications: list[JsonObject] | None = None
    """notification_svc's notifications; None when the audit was not given notification_svc."""
    read_at: datetime | None = None
    """When the reads began: events and notifications younger than a grace period may still be on their way."""

    def final_orders(self) -> list[JsonObject]:
        return [order for order in self.orders.values() if order["status"] in FINAL]


def order_if_stored(orders_api: RestClient, order_id: str) -> JsonObject | None:
    try:
        order: JsonObject = orders_api.check(orders_api.get(f"/api/v1/orders/{order_id}"))
    except ApiError as error:
        if error.status == 404:
            return None
        raise
    return order


def orphan_workflows(
    orders_api: RestClient, listed: list[str], orders: dict[str, JsonObject]
) -> dict[str, str]:
    """The listed OrderSaga workflows that no order goes with. The list is eventually consistent and
    taken after the orders were read, so an order the list names but the order list lacks is asked for."""
    orphans: dict[str, str] = {}
    for listed_id in listed:
        order_id = order_id_of(listed_id)
        if order_id is None:
            orphans[listed_id] = "its id names no order"
        elif order_id not in orders and order_if_stored(orders_api, order_id) is None:
            orphans[listed_id] = "order_svc has no such order"
    return orphans


async def read_workflows(
    address: str, namespace: str, order_ids: list[str]
) -> tuple[dict[str, WorkflowState | None], list[str]]:
    """Each order's workflow, described by id (strongly consistent), and the ids of every OrderSaga
    workflow the visibility store lists."""
    # Imported here, so that sagactl's other commands never load the SDK.
    from temporalio.client import Client, WorkflowExecutionStatus
    from temporalio.service import RPCError, RPCStatusCode

    try:
        client = await Client.connect(
            address,
            namespace=namespace,
            connect_timeout=timedelta(seconds=10),
            plugins=temporal_tracing_plugins(),
        )
    except RuntimeError as error:
        raise TemporalUnavailable(f"Temporal at {address} did not answer ({error})") from error
    limit = asyncio.Semaphore(TEMPORAL_CONCURRENCY)

    async def describe(order_id: str) -> WorkflowState | None:
        handle = client.get_workflow_handle(workflow_id(order_id))
        async with limit:
            try:
                described = await handle.describe()
                completed = described.status == WorkflowExecutionStatus.COMPLETED
                result = await handle.result() if completed else None
            except RPCError as error:
                if error.status == RPCStatusCode.NOT_FOUND:
                    return None
                raise TemporalUnavailable(f"Temporal at {address}: {handle.id}: {error}") from error
        status = described.status.name if described.status else "UNSPECIFIED"
        return WorkflowState(status, described.start_time, result if isinstance(result, dict) else None)

    described = await asyncio.gather(*(describe(order_id) for order_id in order_ids))
    try:
        listed = [
            execution.id async for execution in client.list_workflows(f'WorkflowType = "{WORKFLOW_TYPE}"')
        ]
    except RPCError as error:
        raise TemporalUnavailable(f"Temporal at {address}: listing workflows: {error}") from error
    return dict(zip(order_ids, described, strict=True)), listed

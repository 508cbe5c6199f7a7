"""The activities alone: how client errors become ApplicationErrors and answers become results."""

import asyncio
import dataclasses
import json

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.activities import SagaActivities
from orchestrator.clients import ServiceClient
from orchestrator.contracts import (
    CancelOrderInput,
    OrderItem,
    OrderRef,
    PricedLine,
    Reservation,
    ReserveStockInput,
)

pytestmark = pytest.mark.asyncio

RESERVATION = {
    "order_id": "o-1",
    "status": "RESERVED",
    "lines": [{"sku": "SKU-RED", "quantity": 2, "unit_price_cents": 1250}],
    "total_cents": 2500,
    "currency": "USD",
    "created_at": "2026-01-01T00:00:00Z",
}


def activities_answering(response: httpx.Response, seen: list[httpx.Request]) -> SagaActivities:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response

    transport = httpx.MockTransport(handle)
    return SagaActivities(
        inventory=ServiceClient("inventory_svc", "http://inventory", transport=transport),
        payment=ServiceClient("payment_svc", "http://payment", transport=transport),
        orders=ServiceClient("order_svc", "http://orders", transport=transport),
    )


def environment(activity_type: str) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="order-o-1", activity_type=activity_type)
    return env


async def test_reserve_stock_returns_the_priced_reservation() -> None:
    seen: list[httpx.Request] = []
    activities = activities_answering(httpx.Response(201, json=RESERVATION), seen)

    reservation = await environment("reserve_stock").run(
        activities.reserve_stock, ReserveStockInput("o-1", [OrderItem("SKU-RED", 2)])
    )

    assert reservation == Reservation(
        "o-1", "RESERVED", [PricedLine("SKU-RED", 2, 1250)], 2500, "USD"
    )
    (request,) = seen
    assert request.headers["Idempotency-Key"] == "order-o-1:reserve_stock"


async def test_unreadable_reservation_is_a_non_retryable_bad_response() -> None:
    activities = activities_answering(httpx.Response(201, json={"order_id": "o-1"}), [])

    with pytest.raises(ApplicationError) as raised:
        await environment("reserve_stock").run(
            activities.reserve_stock, ReserveStockInput("o-1", [OrderItem("SKU-RED", 2)])
        )

    assert (raised.value.type, raised.value.non_retryable) == ("bad_response", True)


async def test_business_error_becomes_non_retryable_application_error_of_its_code() -> None:
    body = {"code": "out_of_stock", "message": "only 1 left", "details": {"sku": "SKU-RED"}}
    activities = activities_answering(httpx.Response(409, json=body), [])

    with pytest.raises(ApplicationError) as raised:
        await environment("reserve_stock").run(
            activities.reserve_stock, ReserveStockInput("o-1", [OrderItem("SKU-RED", 2)])
        )

    assert raised.value.type == "out_of_stock"
    assert raised.value.non_retryable is True
    assert raised.value.message == "only 1 left"
    assert list(raised.value.details) == [{"sku": "SKU-RED"}]


async def test_transient_error_becomes_retryable_application_error_of_its_class() -> None:
    activities = activities_answering(httpx.Response(503), [])

    with pytest.raises(ApplicationError) as raised:
        await environment("void_payment").run(activities.void_payment, OrderRef("o-1"))

    assert (raised.value.type, raised.value.non_retryable) == ("ServiceUnavailable", False)


async def test_cancel_without_reservation_sends_only_the_reason() -> None:
    seen: list[httpx.Request] = []
    activities = activities_answering(httpx.Response(200, json={"status": "CANCELLED"}), seen)

    await environment("cancel_order").run(
        activities.cancel_order, CancelOrderInput("o-1", "out_of_stock")
    )

    (request,) = seen
    assert request.url.path == "/internal/v1/orders/o-1/cancel"
    assert json.loads(request.content) == {"reason": "out_of_stock"}
    assert request.headers["Idempotency-Key"] == "order-o-1:cancel_order"


async def test_a_slow_call_keeps_heartbeating_so_a_dead_worker_is_noticed_early() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2.3)
        return httpx.Response(200, json={"status": "CAPTURED"})

    transport = httpx.MockTransport(slow)
    activities = SagaActivities(
        inventory=ServiceClient("inventory_svc", "http://inventory", transport=transport),
        payment=ServiceClient("payment_svc", "http://payment", transport=transport),
        orders=ServiceClient("order_svc", "http://orders", transport=transport),
    )
    env = environment("capture_payment")
    beats: list[tuple] = []
    env.on_heartbeat = lambda *details: beats.append(details)

    await env.run(activities.capture_payment, OrderRef("o-1"))

    assert len(beats) >= 3, "one heartbeat at the start, then one a second while the call runs"

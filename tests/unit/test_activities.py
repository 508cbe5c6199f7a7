"""The activities alone: how client errors become ApplicationErrors and answers become results."""

import asyncio
import dataclasses
import json

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator import auth
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
from tests.unit.fakes import FixedTokens

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

    return activities_over(httpx.MockTransport(handle))


def activities_over(transport: httpx.MockTransport, tokens: FixedTokens | None = None) -> SagaActivities:
    tokens = tokens or FixedTokens()
    return SagaActivities(
        inventory=ServiceClient("inventory_svc", "http://inventory", tokens=tokens, transport=transport),
        payment=ServiceClient("payment_svc", "http://payment", tokens=tokens, transport=transport),
        orders=ServiceClient("order_svc", "http://orders", tokens=tokens, transport=transport),
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

    assert reservation == Reservation("o-1", "RESERVED", [PricedLine("SKU-RED", 2, 1250)], 2500, "USD")
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


@pytest.mark.parametrize("status", [503, 403])
async def test_transient_error_becomes_retryable_application_error_of_its_class(status: int) -> None:
    """A 403 too: a refused saga token is mended by an operator, not by failing the order."""
    activities = activities_answering(httpx.Response(status), [])

    with pytest.raises(ApplicationError) as raised:
        await environment("void_payment").run(activities.void_payment, OrderRef("o-1"))

    assert (raised.value.type, raised.value.non_retryable) == ("ServiceUnavailable", False)


async def test_no_token_is_a_retryable_application_error_and_nothing_is_sent() -> None:
    seen: list[httpx.Request] = []
    tokens = FixedTokens(fails_with=auth.NoToken("token endpoint not reachable"))
    activities = activities_over(httpx.MockTransport(seen.append), tokens)

    with pytest.raises(ApplicationError) as raised:
        await environment("capture_payment").run(activities.capture_payment, OrderRef("o-1"))

    assert (raised.value.type, raised.value.non_retryable) == ("CredentialsUnavailable", False)
    assert seen == []


async def test_cancel_without_reservation_sends_only_the_reason() -> None:
    seen: list[httpx.Request] = []
    activities = activities_answering(httpx.Response(200, json={"status": "CANCELLED"}), seen)

    await environment("cancel_order").run(activities.cancel_order, CancelOrderInput("o-1", "out_of_stock"))

    (request,) = seen
    assert request.url.path == "/internal/v1/orders/o-1/cancel"
    assert json.loads(request.content) == {"reason": "out_of_stock"}
    assert request.headers["Idempotency-Key"] == "order-o-1:cancel_order"


async def test_a_slow_call_keeps_heartbeating_so_a_dead_worker_is_noticed_early() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2.3)
        return httpx.Response(200, json={"status": "CAPTURED"})

    activities = activities_over(httpx.MockTransport(slow))
    env = environment("capture_payment")
    beats: list[tuple] = []
    env.on_heartbeat = lambda *details: beats.append(details)

    await env.run(activities.capture_payment, OrderRef("o-1"))

    assert len(beats) == 2, "one a second while the call runs (at 1 s and 2 s), none at the start"


async def test_a_quick_call_sends_no_heartbeat() -> None:
    """Every heartbeat is a write on the server: a call done within the interval needs none."""
    activities = activities_over(
        httpx.MockTransport(lambda request: httpx.Response(200, json={"status": "CAPTURED"}))
    )
    env = environment("capture_payment")
    beats: list[tuple] = []
    env.on_heartbeat = lambda *details: beats.append(details)

    await env.run(activities.capture_payment, OrderRef("o-1"))

    assert beats == []

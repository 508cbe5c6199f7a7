"""OrderSaga with the real activities and client layer, services replaced by httpx.MockTransport.

Checks what reaches the wire: paths, bodies, the worker's bearer token, and idempotency keys
`order-<id>:<step>` that stay the same across the client's inner retries and Temporal's activity
retries.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from orchestrator.activities import SagaActivities
from orchestrator.clients import INNER_ATTEMPTS, ServiceClient
from orchestrator.workflows import OrderSaga
from tests.unit.fakes import TOKEN, FixedTokens

pytestmark = pytest.mark.asyncio(loop_scope="session")

LINES = [{"sku": "SKU-RED", "quantity": 2, "unit_price_cents": 1250}]


@dataclass
class SeenRequest:
    host: str
    path: str
    headers: httpx.Headers
    body: dict[str, Any]


Answer = Callable[[SeenRequest], httpx.Response]


def reserved(seen: SeenRequest) -> httpx.Response:
    reservation = {
        "order_id": seen.body["order_id"],
        "status": "RESERVED",
        "lines": LINES,
        "total_cents": 2500,
        "currency": "USD",
    }
    return httpx.Response(201, json=reservation)


class FakeServices:
    """Records every POST and answers it by path: reservations granted, anything else a 200."""

    def __init__(self, answers: dict[str, Answer] | None = None) -> None:
        self.seen: list[SeenRequest] = []
        self._answers: dict[str, Answer] = {"/internal/v1/reservations": reserved, **(answers or {})}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # the saga looking up its order: found, and not a step
            return httpx.Response(200, json={"id": request.url.path.rsplit("/", 1)[-1]})
        seen = SeenRequest(request.url.host, request.url.path, request.headers, json.loads(request.content))
        self.seen.append(seen)
        answer = self._answers.get(seen.path, lambda _: httpx.Response(200, json={"ok": True}))
        return answer(seen)

    def times_seen(self, path: str) -> int:
        return sum(1 for seen in self.seen if seen.path == path)

    def activities(self) -> SagaActivities:
        transport = httpx.MockTransport(self.handle)
        tokens = FixedTokens()
        return SagaActivities(
            inventory=ServiceClient("inventory_svc", "http://inventory", tokens=tokens, transport=transport),
            payment=ServiceClient("payment_svc", "http://payment", tokens=tokens, transport=transport),
            orders=ServiceClient("order_svc", "http://orders", tokens=tokens, transport=transport),
        )


async def run_saga(env: WorkflowEnvironment, order_id: str, services: FakeServices) -> Any:
    task_queue = f"orders-{uuid.uuid4()}"
    activities = services.activities()
    async with Worker(env.client, task_queue=task_queue, workflows=[OrderSaga], activities=activities.all()):
        return await env.client.execute_workflow(
            "OrderSaga",
            {
                "order_id": order_id,
                "customer_id": "cust-7",
                "items": [{"sku": "SKU-RED", "quantity": 2}],
            },
            id=f"order-{order_id}",
            task_queue=task_queue,
        )


async def test_keys_are_per_step_and_stable_across_both_retry_loops(
    env: WorkflowEnvironment,
) -> None:
    order_id = str(uuid.uuid4())
    reserve_failures = INNER_ATTEMPTS + 1  # one whole activity attempt, then one inner retry

    def reserve_after_outage(seen: SeenRequest) -> httpx.Response:
        if services.times_seen("/internal/v1/reservations") <= reserve_failures:
            return httpx.Response(503, json={"code": "unavailable", "message": "", "details": {}})
        return reserved(seen)

    services = FakeServices({"/internal/v1/reservations": reserve_after_outage})
    result = await run_saga(env, order_id, services)

    workflow_id = f"order-{order_id}"
    assert result["status"] == "CONFIRMED"
    assert [(seen.host, seen.path, seen.headers["Idempotency-Key"]) for seen in services.seen] == [
        *[("inventory", "/internal/v1/reservations", f"{workflow_id}:reserve_stock")]
        * (reserve_failures + 1),
        ("payment", "/internal/v1/payments/authorize", f"{workflow_id}:authorize_payment"),
        ("payment", "/internal/v1/payments/capture", f"{workflow_id}:capture_payment"),
        ("inventory", f"/internal/v1/reservations/{order_id}/commit", f"{workflow_id}:commit_stock"),
        ("orders", f"/internal/v1/orders/{order_id}/confirm", f"{workflow_id}:confirm_order"),
    ]
    saga_headers = {
        (seen.headers["X-Order-Id"], seen.headers["X-Workflow-Id"], seen.headers["Authorization"])
        for seen in services.seen
    }
    assert saga_headers == {(order_id, workflow_id, f"Bearer {TOKEN}")}
    bodies = {seen.path: seen.body for seen in services.seen}
    assert bodies["/internal/v1/reservations"] == {
        "order_id": order_id,
        "items": [{"sku": "SKU-RED", "quantity": 2}],
    }
    assert bodies["/internal/v1/payments/authorize"] == {
        "order_id": order_id,
        "customer_id": "cust-7",
        "amount_cents": 2500,
        "currency": "USD",
    }
    assert bodies["/internal/v1/payments/capture"] == {"order_id": order_id}
    assert bodies[f"/internal/v1/reservations/{order_id}/commit"] == {}
    assert bodies[f"/internal/v1/orders/{order_id}/confirm"] == {
        "lines": LINES,
        "total_cents": 2500,
        "currency": "USD",
    }


async def test_declined_payment_is_compensated_by_order_id_and_cancelled(
    env: WorkflowEnvironment,
) -> None:
    order_id = str(uuid.uuid4())
    declined = {"code": "payment_declined", "message": "insufficient funds", "details": {}}
    services = FakeServices({"/internal/v1/payments/authorize": lambda _: httpx.Response(402, json=declined)})
    result = await run_saga(env, order_id, services)

    workflow_id = f"order-{order_id}"
    assert result == {
        "order_id": order_id,
        "status": "CANCELLED",
        "reason": "payment_declined",
        "total_cents": None,
    }
    assert [(seen.path, seen.headers["Idempotency-Key"], seen.body) for seen in services.seen] == [
        (
            "/internal/v1/reservations",
            f"{workflow_id}:reserve_stock",
            {"order_id": order_id, "items": [{"sku": "SKU-RED", "quantity": 2}]},
        ),
        (
            "/internal/v1/payments/authorize",
            f"{workflow_id}:authorize_payment",
            {
                "order_id": order_id,
                "customer_id": "cust-7",
                "amount_cents": 2500,
                "currency": "USD",
            },
        ),
        ("/internal/v1/payments/void", f"{workflow_id}:void_payment", {"order_id": order_id}),
        (f"/internal/v1/reservations/{order_id}/release", f"{workflow_id}:release_stock", {}),
        (
            f"/internal/v1/orders/{order_id}/cancel",
            f"{workflow_id}:cancel_order",
            {"reason": "payment_declined", "lines": LINES, "total_cents": 2500, "currency": "USD"},
        ),
    ]

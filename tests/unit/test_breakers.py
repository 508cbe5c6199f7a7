"""Circuit breakers around the client layer: what opens them, what an open one does, shared state."""

import dataclasses
import logging
import time
import uuid

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.activities import SagaActivities
from orchestrator.breakers import BreakerSettings, ServiceBreaker
from orchestrator.clients import ServiceClient
from orchestrator.contracts import OrderRef
from orchestrator.errors import BusinessError, CircuitOpen, ServiceUnavailable
from tests.unit.fakes import FixedTokens

pytestmark = pytest.mark.asyncio


class Counting:
    """A MockTransport handler answering every request with one fixed answer, counting them."""

    def __init__(self, status: int, body: dict | None = None) -> None:
        self.status, self.body, self.calls = status, body, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return httpx.Response(self.status, json=self.body or {})


def client(handler, breaker: ServiceBreaker) -> ServiceClient:
    return ServiceClient(
        "payment_svc",
        "http://payment",
        tokens=FixedTokens(),
        breaker=breaker,
        transport=httpx.MockTransport(handler),
    )


async def capture(c: ServiceClient) -> dict:
    return await c.post(
        "/internal/v1/payments/capture",
        {"order_id": "o-1"},
        idempotency_key="order-o-1:capture_payment",
        order_id="o-1",
        workflow_id="order-o-1",
    )


async def fail_until_open(c: ServiceClient) -> None:
    for _ in range(10):
        try:
            await capture(c)
        except CircuitOpen:
            return
        except ServiceUnavailable:
            continue
    raise AssertionError("breaker never opened")


async def test_5xx_opens_the_breaker_and_then_calls_fail_without_io(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="orchestrator.breakers")
    breaker = ServiceBreaker("payment_svc", BreakerSettings(fail_max=3, reset_seconds=30))
    down = Counting(503)
    c = client(down, breaker)

    await fail_until_open(c)
    assert breaker.state == "open"
    assert down.calls == 3
    for _ in range(20):
        with pytest.raises(CircuitOpen) as raised:
            await capture(c)
    assert down.calls == 3, "an open breaker sends nothing"
    assert 29 < raised.value.retry_after <= 30
    assert "circuit breaker payment_svc: closed -> open" in caplog.text


@pytest.mark.parametrize(
    ("status", "code"),
    [(402, "payment_declined"), (409, "payment_voided"), (409, "idempotency_in_flight"), (429, "throttled")],
)
async def test_business_and_not_now_answers_never_open_it(status, code) -> None:
    breaker = ServiceBreaker("payment_svc", BreakerSettings(fail_max=2, reset_seconds=30))
    service = Counting(status, {"code": code, "message": "no", "details": {}})
    c = client(service, breaker)
    for _ in range(6):
        with pytest.raises((BusinessError, ServiceUnavailable)):
            await capture(c)
    assert breaker.state == "closed"
    assert service.calls >= 6


async def test_after_the_reset_time_one_trial_call_goes_through_and_closes_it(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="orchestrator.breakers")
    breaker = ServiceBreaker("payment_svc", BreakerSettings(fail_max=2, reset_seconds=0.2))
    service = Counting(503)
    c = client(service, breaker)
    await fail_until_open(c)

    service.status, service.body = 200, {"status": "CAPTURED"}
    time.sleep(0.25)
    assert await capture(c) == {"status": "CAPTURED"}
    assert breaker.state == "closed"
    assert "payment_svc: open -> half-open" in caplog.text
    assert "payment_svc: half-open -> closed" in caplog.text


async def test_an_open_breaker_makes_a_retryable_activity_failure_that_waits_for_the_trial() -> None:
    breaker = ServiceBreaker("payment_svc", BreakerSettings(fail_max=1, reset_seconds=20))
    down = Counting(503)
    payment = client(down, breaker)
    await fail_until_open(payment)
    unused = ServiceClient(
        "x", "http://x", tokens=FixedTokens(), transport=httpx.MockTransport(Counting(500))
    )
    activities = SagaActivities(inventory=unused, payment=payment, orders=unused)
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="order-o-1", activity_type="capture_payment")

    with pytest.raises(ApplicationError) as raised:
        await env.run(activities.capture_payment, OrderRef("o-1"))

    assert raised.value.type == "CircuitOpen"
    assert not raised.value.non_retryable
    assert 19 < raised.value.next_retry_delay.total_seconds() <= 21, (
        "the reset time left, plus up to 1 s of jitter"
    )


def _redis_url() -> str | None:
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.3).ping()
    except redis.RedisError:
        return None
    return url


async def test_breaker_state_is_shared_through_redis() -> None:
    url = _redis_url()
    if url is None:
        pytest.skip("needs Redis on 127.0.0.1:6379 for shared breaker state")
    service = f"payment_svc_{uuid.uuid4().hex[:8]}"  # a namespace of this test's own
    settings = BreakerSettings(fail_max=2, reset_seconds=30, redis_url=url)
    in_worker_a, in_worker_b = ServiceBreaker(service, settings), ServiceBreaker(service, settings)
    down = Counting(503)

    try:
        await fail_until_open(client(down, in_worker_a))

        assert in_worker_b.state == "open"
        with pytest.raises(CircuitOpen):
            await capture(client(down, in_worker_b))
        assert down.calls == 2
    finally:
        import redis

        keys = redis.Redis.from_url(url)
        keys.delete(*keys.keys(f"*saga-orders:{service}*"))

"""The client layer alone, over httpx.MockTransport: how answers are classified, what is retried."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from tenacity import wait_none

from orchestrator import auth, clients
from orchestrator.breakers import BreakerSettings, ServiceBreaker
from orchestrator.clients import INNER_ATTEMPTS, ServiceClient
from orchestrator.errors import (
    BusinessError,
    CredentialsUnavailable,
    ServiceUnavailable,
    ServiceUnreachable,
    TransientServiceError,
)
from tests.unit.fakes import TOKEN, FixedTokens

pytestmark = pytest.mark.asyncio

KEY = "order-42:authorize_payment"


class Script:
    """Answers requests in turn from a list of answers (a Response, or an exception to raise)."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self._answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self._answers[min(len(self.requests), len(self._answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def post(
    script: Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]],
    *,
    tokens: FixedTokens | None = None,
    breaker: ServiceBreaker | None = None,
) -> dict:
    client = ServiceClient(
        "payment_svc",
        "http://payment",
        tokens=tokens or FixedTokens(),
        breaker=breaker,
        transport=httpx.MockTransport(script),
    )
    try:
        return await client.post(
            "/internal/v1/payments/authorize",
            {"order_id": "42", "amount_cents": 900},
            idempotency_key=KEY,
            order_id="42",
            workflow_id="order-42",
        )
    finally:
        await client.aclose()


def error_body(code: str) -> dict:
    return {"code": code, "message": f"{code} happened", "details": {"why": code}}


async def test_success_returns_the_body_and_sends_the_saga_headers() -> None:
    script = Script(httpx.Response(201, json={"status": "AUTHORIZED"}))

    assert await post(script) == {"status": "AUTHORIZED"}
    (request,) = script.requests
    assert request.headers["Idempotency-Key"] == KEY
    assert request.headers["X-Order-Id"] == "42"
    assert request.headers["X-Workflow-Id"] == "order-42"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_503_is_retried_with_the_same_idempotency_key() -> None:
    script = Script(
        httpx.Response(503, json=error_body("unavailable")),
        httpx.Response(201, json={"status": "AUTHORIZED"}),
    )

    assert await post(script) == {"status": "AUTHORIZED"}
    assert [request.headers["Idempotency-Key"] for request in script.requests] == [KEY, KEY]


async def test_each_retry_is_logged_with_its_attempt_and_the_failure_before_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = Script(
        httpx.Response(503, json=error_body("unavailable")),
        httpx.ConnectError("connection refused"),
        httpx.Response(201, json={"status": "AUTHORIZED"}),
    )

    with caplog.at_level("WARNING", logger="orchestrator.clients"):
        assert await post(script) == {"status": "AUTHORIZED"}

    retries = [record.getMessage() for record in caplog.records]
    assert retries == [
        "retrying payment_svc /internal/v1/payments/authorize after attempt 1: "
        "payment_svc: HTTP 503 unavailable",
        "retrying payment_svc /internal/v1/payments/authorize after attempt 2: "
        "payment_svc: ConnectError: connection refused",
    ]


async def test_a_cookie_an_answer_sets_is_not_sent_back() -> None:
    """Each call stands alone: an answer's cookie never rides along on a later call."""
    script = Script(
        httpx.Response(503, json=error_body("unavailable"), headers={"Set-Cookie": "sessionid=abc; Path=/"}),
        httpx.Response(201, json={"status": "AUTHORIZED"}),
    )

    assert await post(script) == {"status": "AUTHORIZED"}
    assert [request.headers.get("Cookie") for request in script.requests] == [None, None]


async def test_idempotency_in_flight_is_retried() -> None:
    script = Script(
        httpx.Response(409, json=error_body("idempotency_in_flight")),
        httpx.Response(200, json={"status": "AUTHORIZED"}),
    )

    assert await post(script) == {"status": "AUTHORIZED"}
    assert len(script.requests) == 2


async def test_business_error_is_raised_at_once_with_its_code() -> None:
    script = Script(httpx.Response(402, json=error_body("payment_declined")))

    with pytest.raises(BusinessError) as raised:
        await post(script)

    assert len(script.requests) == 1
    assert (raised.value.status_code, raised.value.code) == (402, "payment_declined")
    assert raised.value.message == "payment_declined happened"
    assert raised.value.details == {"why": "payment_declined"}


async def test_other_conflict_is_a_business_error_not_retried() -> None:
    script = Script(httpx.Response(409, json=error_body("payment_voided")))

    with pytest.raises(BusinessError) as raised:
        await post(script)

    assert len(script.requests) == 1
    assert raised.value.code == "payment_voided"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404, text="<html>Not Found</html>"),
        httpx.Response(400, json={"detail": "no code here"}),
        httpx.Response(200, text="not json"),
    ],
)
async def test_answer_outside_the_contract_is_bad_response(answer: httpx.Response) -> None:
    script = Script(answer)

    with pytest.raises(BusinessError) as raised:
        await post(script)

    assert len(script.requests) == 1
    assert raised.value.code == "bad_response"


async def test_connect_error_is_retried_then_raised_as_unreachable() -> None:
    script = Script(httpx.ConnectError("connection refused"))

    with pytest.raises(ServiceUnreachable) as raised:
        await post(script)

    assert isinstance(raised.value, TransientServiceError)
    assert len(script.requests) == INNER_ATTEMPTS


async def test_inner_retries_stop_after_a_bounded_number_of_attempts() -> None:
    script = Script(httpx.Response(503, json=error_body("unavailable")))

    with pytest.raises(ServiceUnavailable) as raised:
        await post(script)

    assert INNER_ATTEMPTS == 3
    assert len(script.requests) == 3
    assert raised.value.status_code == 503


@pytest.mark.parametrize(("first_answer_after", "requests"), [(0.1, 3), (0.5, 1)])
async def test_attempts_start_only_within_the_inner_budget_the_first_one_counted(
    monkeypatch: pytest.MonkeyPatch, first_answer_after: float, requests: int
) -> None:
    monkeypatch.setattr(clients, "_INNER_BUDGET_SECONDS", 0.4)
    monkeypatch.setattr(clients, "wait_random_exponential", lambda **_: wait_none())
    seen: list[httpx.Request] = []

    async def slow_first(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            await asyncio.sleep(first_answer_after)
        return httpx.Response(503, json=error_body("unavailable"))

    with pytest.raises(ServiceUnavailable):
        await post(slow_first)

    assert len(seen) == requests


@pytest.mark.parametrize("status", [500, 429])
async def test_other_unavailable_answers_are_left_to_temporal(status: int) -> None:
    script = Script(httpx.Response(status, json=error_body("busy")))

    with pytest.raises(ServiceUnavailable):
        await post(script)

    assert len(script.requests) == 1


async def test_a_refused_token_is_dropped_and_the_retry_carries_a_fresh_one() -> None:
    """A 401 (the token expired early, the keys rotated) costs one inner retry, not an activity attempt."""
    tokens = FixedTokens()
    script = Script(
        httpx.Response(401, json=error_body("not_authenticated")),
        httpx.Response(201, json={"status": "AUTHORIZED"}),
    )

    assert await post(script, tokens=tokens) == {"status": "AUTHORIZED"}
    assert tokens.invalidations == 1
    assert [request.headers["Authorization"] for request in script.requests] == [
        "Bearer saga-token-1",
        "Bearer saga-token-2",
    ]
    assert [request.headers["Idempotency-Key"] for request in script.requests] == [KEY, KEY]


async def test_a_forbidden_token_is_transient_and_never_opens_the_breaker() -> None:
    """A 403 means the worker's identity is wrong, not the order: Temporal retries it until an
    operator mends the identity, and the service is not judged ill for it."""
    tokens = FixedTokens()
    breaker = ServiceBreaker("payment_svc", BreakerSettings(fail_max=2, reset_seconds=30))
    script = Script(httpx.Response(403, json=error_body("permission_denied")))

    for _ in range(5):
        with pytest.raises(ServiceUnavailable) as raised:
            await post(script, tokens=tokens, breaker=breaker)
        assert (raised.value.status_code, raised.value.code) == (403, "permission_denied")

    assert not isinstance(raised.value, BusinessError)
    assert len(script.requests) == 5, "a 403 is left to Temporal, not retried inside the call"
    assert tokens.invalidations == 5
    assert breaker.state == "closed"


async def test_no_token_means_no_request_and_no_mark_against_the_breaker() -> None:
    """A token endpoint that is down says nothing about the service: nothing is sent, and the
    breaker, though it opens after one failure, stays closed."""
    tokens = FixedTokens(fails_with=auth.NoToken("token endpoint not reachable"))
    breaker = ServiceBreaker("payment_svc", BreakerSettings(fail_max=1, reset_seconds=30))
    script = Script(httpx.Response(201, json={"status": "AUTHORIZED"}))

    for _ in range(3):
        with pytest.raises(CredentialsUnavailable) as raised:
            await post(script, tokens=tokens, breaker=breaker)

    assert isinstance(raised.value, TransientServiceError)
    assert raised.value.service == "payment_svc"
    assert "token endpoint not reachable" in str(raised.value)
    assert tokens.requests == 3, "not retried inside the call: Temporal's retry policy waits instead"
    assert script.requests == []
    assert breaker.state == "closed"

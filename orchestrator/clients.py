"""The one HTTP client layer through which the saga's activities call the services.

It sends a request through the service's circuit breaker, turns the answer into a parsed body or
a classified error (the taxonomy and retry policy are drawn in errors.py) and retries only
briefly; it knows nothing of Temporal and never decides a saga step's fate.
"""

import logging
import time
from http.cookiejar import CookieJar
from typing import Any

import httpx
import pybreaker
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from orchestrator import auth
from orchestrator.breakers import BreakerSettings, ServiceBreaker
from orchestrator.connections import pooled_transport
from orchestrator.contracts import BAD_RESPONSE
from orchestrator.errors import (
    BusinessError,
    CircuitOpen,
    CredentialsUnavailable,
    ServiceError,
    ServiceUnavailable,
    ServiceUnreachable,
)
from saga_contract import IDEMPOTENCY_IN_FLIGHT

logger = logging.getLogger(__name__)

INNER_ATTEMPTS = 3
"""Attempts of one call inside one activity attempt; Temporal's retry policy is the outer loop."""

_INNER_BUDGET_SECONDS = 3.0
_RETRY_NOW_STATUSES = frozenset({401, 502, 503, 504})  # 401: the next attempt fetches a fresh token
_CREDENTIALS_REFUSED = frozenset({401, 403})

# Worst case of one call: attempts start within the 3 s inner budget; the last has 2 s to have a
# connection (a pool slot, the address and the TCP connect together), then its answer may keep the
# line silent for 5 s at a time (each read, the body's too). A server that keeps dripping bytes is
# cut off by the activities' 30 s start-to-close. aiohttp, under the transport, has no write
# timeout: a request's few hundred bytes never wait for the socket.
_TIMEOUT = httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=2.0)
# Every connection the pool opens is kept for the next call: with 10 kept of 50, more than ten calls
# in flight to one service closed their connections after use and opened new ones (a TCP handshake
# and a gunicorn accept each) for the next calls.
_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=50, keepalive_expiry=30.0)


class _NoCookies(CookieJar):
    """A jar that keeps nothing: a saga's call carries no state from another saga's answer, and httpx
    need not read every answer's headers for cookies (docs/benchmarks.md)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass


def _worth_retrying_now(error: BaseException) -> bool:
    if isinstance(error, ServiceUnreachable):
        return True
    return isinstance(error, ServiceUnavailable) and (
        error.status_code in _RETRY_NOW_STATUSES or error.code == IDEMPOTENCY_IN_FLIGHT
    )


class ServiceClient:
    """Calls one service over a pooled keep-alive connection; one instance per service."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        tokens: auth.TokenSource,
        breaker: ServiceBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service = service
        self.tokens = tokens
        self.breaker = breaker or ServiceBreaker(service, BreakerSettings())
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=_TIMEOUT,
            transport=transport or pooled_transport(_LIMITS),
            cookies=_NoCookies(),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def post(
        self,
        path: str,
        json: dict[str, Any],
        *,
        idempotency_key: str,
        order_id: str | None,
        workflow_id: str,
    ) -> dict[str, Any]:
        """POST and return the answer's JSON body, or raise a ServiceError. `order_id` is None for a
        command about no one order (the scheduled purge)."""
        headers = {"Idempotency-Key": idempotency_key, "X-Workflow-Id": workflow_id}
        if order_id is not None:
            headers["X-Order-Id"] = order_id
        return await self._call("POST", path, json, headers)

    async def get(self, path: str, *, order_id: str, workflow_id: str) -> dict[str, Any]:
        """GET and return the answer's JSON body, or raise a ServiceError."""
        return await self._call("GET", path, None, {"X-Order-Id": order_id, "X-Workflow-Id": workflow_id})

    async def _call(
        self, method: str, path: str, json: dict[str, Any] | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        """The call, tried again at once (up to INNER_ATTEMPTS, within the inner budget) while the
        service is unreachable or says "not now". Nearly every call ends with its first attempt, made
        here as is: only a call that needs another goes through tenacity's loop, which takes the
        failed attempt as its first (docs/benchmarks.md: the loop cost the worker 1 ms a saga)."""
        started = time.monotonic()
        failed: ServiceError | None
        try:
            return await self._send_once(method, path, json, headers)
        except ServiceError as error:
            if not _worth_retrying_now(error):
                raise
            failed = error
        order_id, workflow_id = headers.get("X-Order-Id"), headers["X-Workflow-Id"]

        def log_retry(state: RetryCallState) -> None:
            logger.warning(
                "retrying %s %s after attempt %d: %s",
                self.service,
                path,
                state.attempt_number,
                state.outcome.exception() if state.outcome else None,
                extra={"order_id": order_id, "workflow_id": workflow_id},
            )

        async def attempt() -> dict[str, Any]:
            nonlocal failed
            if failed is not None:
                first, failed = failed, None
                raise first
            return await self._send_once(method, path, json, headers)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(INNER_ATTEMPTS)
            | stop_after_delay(_INNER_BUDGET_SECONDS - (time.monotonic() - started)),
            wait=wait_random_exponential(multiplier=0.25, max=1.0),
            retry=retry_if_exception(_worth_retrying_now),
            before_sleep=log_retry,
            reraise=True,
        )
        return await retrying(attempt)

    async def _send_once(
        self, method: str, path: str, json: dict[str, Any] | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        """One request, one classified outcome, through the service's circuit breaker.

        pybreaker's decorator does nothing on ``async def``; its ``calling()`` context manager
        wraps the awaited request instead. An open breaker fails here at once, without I/O.
        The token is had first, outside the breaker: its endpoint's health is not the service's.
        """
        try:
            token = await self.tokens.token()
        except auth.NoToken as error:
            raise CredentialsUnavailable(self.service, str(error)) from error
        headers = {**headers, "Authorization": f"Bearer {token}"}
        try:
            with self.breaker.breaker.calling():
                try:
                    response = await self._http.request(method, path, json=json, headers=headers)
                except httpx.TransportError as error:
                    raise ServiceUnreachable(self.service, f"{type(error).__name__}: {error}") from error
                return self._read(response)
        except pybreaker.CircuitBreakerError as error:
            raise CircuitOpen(self.service, self.breaker.seconds_until_trial()) from error

    def _read(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        body = _json_object(response)
        if response.is_success:
            if body is None:
                raise BusinessError(self.service, status, BAD_RESPONSE, "not a JSON object", {})
            return body
        error = _error_shape(body)
        code = error[0] if error else None
        if status in _CREDENTIALS_REFUSED:
            self.tokens.invalidate()
            logger.error("%s refused the saga's token: HTTP %d %s", self.service, status, code)
        not_now = status >= 500 or status == 429 or (status == 409 and code == IDEMPOTENCY_IN_FLIGHT)
        if not_now or status in _CREDENTIALS_REFUSED:
            raise ServiceUnavailable(self.service, status, code)
        if error is None:
            raise BusinessError(self.service, status, BAD_RESPONSE, "no error body", {})
        code, message, details = error
        raise BusinessError(self.service, status, code, message, details)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error_shape(body: dict[str, Any] | None) -> tuple[str, str, dict[str, Any]] | None:
    """(code, message, details) of a body in the services' error shape, else None."""
    if body is None or not isinstance(body.get("code"), str):
        return None
    details = body.get("details")
    return body["code"], str(body.get("message", "")), details if isinstance(details, dict) else {}

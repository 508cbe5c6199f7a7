"""Synchronous client for the services' public REST API, shared by sagactl and the tests: a bearer
token, JSON bodies, an Idempotency-Key on every POST, and the one error shape raised as `ApiError`. It
holds no business rules; the orchestrator has its own resilient async client.

    ServiceCallError          a call did not succeed; str() is one line for a person
     ├── ServiceUnavailable   no HTTP answer at all (refused, reset, timed out)
     └── ApiError             an answer with a non-2xx status: code, message, details
"""

from __future__ import annotations

import time
import uuid
from typing import Any, TypeAlias

import httpx

FINAL_ORDER_STATUSES = frozenset({"CONFIRMED", "CANCELLED"})

JsonObject: TypeAlias = dict[str, Any]
"""A JSON object: what a service answered (an order, an error's details), or a report to be written."""


class ServiceCallError(Exception):
    """A call to a service did not succeed."""


class ServiceUnavailable(ServiceCallError):
    def __init__(self, service: str, base_url: str, cause: httpx.TransportError) -> None:
        super().__init__(f"{service} at {base_url} did not answer ({type(cause).__name__}: {cause})")
        self.service = service


class ApiError(ServiceCallError):
    """A service answered with an error status; carries the fields of the error shape."""

    def __init__(self, service: str, status: int, code: str, message: str, details: JsonObject) -> None:
        super().__init__(f"{service} answered {status} {code}: {message}")
        self.service = service
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @classmethod
    def from_response(cls, service: str, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "code" in body:
            return cls(
                service,
                response.status_code,
                str(body["code"]),
                str(body.get("message", "")),
                body.get("details") or {},
            )
        # Not the error shape (a proxy page, a crash before the handler): keep what there is.
        text = " ".join(response.text.split())[:200] or response.reason_phrase
        return cls(service, response.status_code, f"http_{response.status_code}", text, {})


class RestClient:
    """One service's base URL over a pooled connection, calling as the holder of `token` (none:
    anonymously). `http` is the raw httpx client (the token included), for requests that must break
    the rules (no Idempotency-Key, a malformed body)."""

    def __init__(
        self, service: str, base_url: str, *, token: str | None = None, timeout: float = 10.0
    ) -> None:
        self.service = service
        self.base_url = base_url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, timeout=timeout, trust_env=False, headers=headers)

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, json: Any, *, key: str | None = None) -> httpx.Response:
        """POST `json` with Idempotency-Key `key`, or a fresh one when none is given."""
        return self._send("POST", path, json=json, headers={"Idempotency-Key": key or str(uuid.uuid4())})

    def get(self, path: str, *, params: dict[str, str] | None = None) -> httpx.Response:
        return self._send("GET", path, params=params)

    def check(self, response: httpx.Response) -> Any:
        """The JSON body of a 2xx answer; any other answer raises ApiError."""
        if response.is_success:
            return response.json()
        raise ApiError.from_response(self.service, response)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise ServiceUnavailable(self.service, self.base_url, error) from error


def all_pages(client: RestClient, path: str, *, page_size: int = 500) -> list[JsonObject]:
    """Every item of a paginated list endpoint (`{"results": [...], "next": ...}`), page by page."""
    results: list[JsonObject] = []
    page = 1
    while True:
        body: JsonObject = client.check(
            client.get(path, params={"page": str(page), "page_size": str(page_size)})
        )
        results += body["results"]
        if body["next"] is None:
            return results
        page += 1


def wait_for_final_order(
    orders: RestClient, order_id: str, *, timeout: float, interval: float = 0.25
) -> JsonObject:
    """Poll GET /api/v1/orders/{id} until the order is CONFIRMED or CANCELLED or `timeout` seconds
    have passed; returns the last order seen, final or not."""
    deadline = time.monotonic() + timeout
    while True:
        order: JsonObject = orders.check(orders.get(f"/api/v1/orders/{order_id}"))
        if order["status"] in FINAL_ORDER_STATUSES or time.monotonic() >= deadline:
            return order
        time.sleep(interval)

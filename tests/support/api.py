"""The one HTTP helper the end-to-end tests use to talk to the stack as a client would: raw `post` and
`get` routed to the right service by path, plus small factories and readers built on them. It speaks
only the public REST contract, through infra.rest, with tokens from the stack's identity_svc: as an
operator for the catalog, accounts and reads, and as each customer for that customer's orders.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from infra.identity import DevTokens
from infra.rest import FINAL_ORDER_STATUSES, RestClient, wait_for_final_order

# First path segment after /api/v1/ or /internal/v1/ -> attribute of the service that serves it.
_ROUTES = {
    "orders": "order",
    "products": "inventory",
    "reservations": "inventory",
    "accounts": "payment",
    "payments": "payment",
    "notifications": "notification",
    "users": "identity",
    "me": "identity",
}


def unique(prefix: str) -> str:
    """A fresh identifier, so tests sharing one stack never see each other's data."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Api:
    """Clients of the services: `order`, `payment`, `inventory`, `notification` and `identity` are RestClients
    holding an operator's token; `customer(id)` is order_svc as that customer; `keys` mints any other token."""

    def __init__(
        self,
        *,
        order_url: str,
        payment_url: str,
        inventory_url: str,
        keys: DevTokens,
        timeout: float = 10.0,
        notification_url: str = "http://127.0.0.1:9",  # nothing listens there: a stack without it
    ) -> None:
        self.keys = keys
        self.urls = {
            "order": order_url,
            "payment": payment_url,
            "inventory": inventory_url,
            "notification": notification_url,
            "identity": keys.identity_url,
        }
        self.timeout = timeout
        operator = keys.operator_token()
        self.order = RestClient("order_svc", order_url, token=operator, timeout=timeout)
        self.payment = RestClient("payment_svc", payment_url, token=operator, timeout=timeout)
        self.inventory = RestClient("inventory_svc", inventory_url, token=operator, timeout=timeout)
        self.notification = RestClient("notification_svc", notification_url, token=operator, timeout=timeout)
        self.identity = RestClient("identity_svc", keys.identity_url, token=operator, timeout=timeout)
        self._customers: dict[str, RestClient] = {}

    @classmethod
    def for_stack(cls, stack: Any) -> Api:
        """An Api for a Stack: its URLs and tokens from its identity_svc."""
        return cls(
            order_url=stack.order_url,
            payment_url=stack.payment_url,
            inventory_url=stack.inventory_url,
            notification_url=stack.config.notification_url,
            keys=stack.config.tokens(),
        )

    def customer(self, customer_id: str) -> RestClient:
        """order_svc as customer `customer_id`, with that customer's token."""
        if customer_id not in self._customers:
            self._customers[customer_id] = RestClient(
                "order_svc",
                self.urls["order"],
                token=self.keys.customer_token(customer_id),
                timeout=self.timeout,
            )
        return self._customers[customer_id]

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for client in (
            self.order,
            self.payment,
            self.inventory,
            self.notification,
            self.identity,
            *self._customers.values(),
        ):
            client.close()

    def client_for(self, path: str) -> RestClient:
        """The service that serves `path`, e.g. '/api/v1/payments/void' -> payment."""
        segments = path.split("?")[0].strip("/").split("/")
        resource = segments[2] if len(segments) > 2 else ""
        if resource not in _ROUTES:
            raise ValueError(f"no route for {path!r}: use api.order, api.payment or api.inventory directly")
        return getattr(self, _ROUTES[resource])

    # Raw calls: the response as it came, for tests that assert on status codes and headers.

    def post(self, path: str, json: Any, key: str | None = None) -> httpx.Response:
        """POST to whichever service serves `path`, with Idempotency-Key `key` or a fresh one."""
        return self.client_for(path).post(path, json, key=key)

    def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        return self.client_for(path).get(path, params=params)

    # Factories and readers: the body of a 2xx answer, ApiError (with .status and .code) otherwise.

    def create_product(
        self, sku: str | None = None, *, name: str | None = None, price_cents: int = 1_000, on_hand: int = 10
    ) -> dict:
        sku = sku or unique("SKU").upper()
        body = {
            "sku": sku,
            "name": name or f"Test product {sku}",
            "price_cents": price_cents,
            "on_hand": on_hand,
        }
        return self.inventory.check(self.post("/api/v1/products", body))

    def create_account(self, customer_id: str | None = None, *, balance_cents: int = 100_000) -> dict:
        body = {"customer_id": customer_id or unique("customer"), "balance_cents": balance_cents}
        return self.payment.check(self.post("/api/v1/accounts", body))

    def place_order(self, customer_id: str, items: Mapping[str, int], *, key: str | None = None) -> dict:
        """POST /api/v1/orders as `customer_id`, one line per (sku, quantity); the order as answered
        (PENDING)."""
        body = {
            "customer_id": customer_id,
            "items": [{"sku": sku, "quantity": qty} for sku, qty in items.items()],
        }
        orders = self.customer(customer_id)
        return orders.check(orders.post("/api/v1/orders", body, key=key))

    def get_order(self, order_id: str) -> dict:
        return self.order.check(self.get(f"/api/v1/orders/{order_id}"))

    def wait_for_final(self, order_id: str, timeout: float = 30.0) -> dict:
        """The order once CONFIRMED or CANCELLED; AssertionError if it is still open after `timeout` s."""
        order = wait_for_final_order(self.order, order_id, timeout=timeout)
        assert order["status"] in FINAL_ORDER_STATUSES, (
            f"order {order_id} still {order['status']} after {timeout} s"
        )
        return order

    def get_product(self, sku: str) -> dict:
        return self.inventory.check(self.get(f"/api/v1/products/{sku}"))

    def get_account(self, customer_id: str) -> dict:
        return self.payment.check(self.get(f"/api/v1/accounts/{customer_id}"))

    def payments_for(self, order_id: str) -> list[dict]:
        return self.payment.check(self.get("/api/v1/payments", params={"order_id": order_id}))["results"]

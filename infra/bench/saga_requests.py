"""The saga's commands as HTTP requests, the same for the product and the framework floor: for one
order, each command's service, path and body, as the orchestrator's activities send them (and
placement as a customer does). Only the bench uses this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infra.rest import JsonObject
from saga_contract import CancellationReason

UNIT_PRICE_CENTS = 100
"""The price of every product the bench seeds for its commands."""

COMMANDS = {
    "place": "order_svc",
    "reserve": "inventory_svc",
    "authorize": "payment_svc",
    "capture": "payment_svc",
    "commit": "inventory_svc",
    "confirm": "order_svc",
    "void": "payment_svc",
    "release": "inventory_svc",
    "cancel": "order_svc",
}
"""Each command and the service that runs it: a completed saga's commands in the order it runs them,
then the compensations of a saga cancelled after its payment was authorized, in theirs."""
COMPLETED_SAGA = ("place", "reserve", "authorize", "capture", "commit", "confirm")
CANCELLED_SAGA = ("place", "reserve", "authorize", "void", "release", "cancel")
COMPENSATIONS = ("void", "release", "cancel")


@dataclass
class BenchOrder:
    """One order the bench drives through commands; `order_id` once placed (or chosen by the bench
    when no placement comes first)."""

    customer_id: str
    skus: tuple[str, ...]
    order_id: str | None = None


def command_request(command: str, order: BenchOrder) -> tuple[str, JsonObject]:
    """The path and JSON body of `command` for `order`."""
    lines = [{"sku": sku, "quantity": 1} for sku in order.skus]
    priced = {
        "lines": [{**line, "unit_price_cents": UNIT_PRICE_CENTS} for line in lines],
        "total_cents": UNIT_PRICE_CENTS * len(lines),
        "currency": "USD",
    }
    requests: dict[str, Callable[[], tuple[str, JsonObject]]] = {
        "place": lambda: ("/api/v1/orders", {"customer_id": order.customer_id, "items": lines}),
        "reserve": lambda: ("/internal/v1/reservations", {"order_id": order.order_id, "items": lines}),
        "authorize": lambda: (
            "/internal/v1/payments/authorize",
            {
                "order_id": order.order_id,
                "customer_id": order.customer_id,
                "amount_cents": priced["total_cents"],
                "currency": "USD",
            },
        ),
        "capture": lambda: ("/internal/v1/payments/capture", {"order_id": order.order_id}),
        "commit": lambda: (f"/internal/v1/reservations/{order.order_id}/commit", {}),
        "confirm": lambda: (f"/internal/v1/orders/{order.order_id}/confirm", priced),
        "void": lambda: ("/internal/v1/payments/void", {"order_id": order.order_id}),
        "release": lambda: (f"/internal/v1/reservations/{order.order_id}/release", {}),
        "cancel": lambda: (
            f"/internal/v1/orders/{order.order_id}/cancel",
            {"reason": CancellationReason.PAYMENT_DECLINED, **priced},
        ),
    }
    return requests[command]()


def is_customers(command: str) -> bool:
    """Placement is a customer's request; every other command is the saga's."""
    return command == "place"

"""Reads of orders. Nothing here changes state."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from orders.errors import OrderNotFound
from orders.models import Order


def order_get(*, order_id: UUID, owner: str | None = None) -> Order:
    """The order; with `owner` (a customer reading), only if it is that customer's: another
    customer's order is not found, not forbidden, so its existence is not confirmed."""
    orders = Order.objects.prefetch_related("items")
    if owner is not None:
        orders = orders.filter(customer_id=owner)
    try:
        return orders.get(id=order_id)
    except Order.DoesNotExist:
        raise OrderNotFound(order_id=str(order_id)) from None


def order_list(
    *, customer_id: str | None = None, status: str | None = None, owner: str | None = None
) -> QuerySet[Order]:
    """Orders, newest first; with `owner`, that customer's only, whatever the filters ask."""
    orders = Order.objects.prefetch_related("items")
    if owner is not None:
        orders = orders.filter(customer_id=owner)
    if customer_id:
        orders = orders.filter(customer_id=customer_id)
    if status:
        orders = orders.filter(status=status)
    return orders

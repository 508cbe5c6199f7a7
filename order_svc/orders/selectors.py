"""Reads of orders. Nothing here changes state."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from orders.errors import OrderNotFound
from orders.models import Order


def order_get(*, order_id: UUID) -> Order:
    try:
        return Order.objects.prefetch_related("items").get(id=order_id)
    except Order.DoesNotExist:
        raise OrderNotFound(order_id=str(order_id)) from None


def order_list(*, customer_id: str | None = None, status: str | None = None) -> QuerySet[Order]:
    orders = Order.objects.prefetch_related("items")
    if customer_id:
        orders = orders.filter(customer_id=customer_id)
    if status:
        orders = orders.filter(status=status)
    return orders

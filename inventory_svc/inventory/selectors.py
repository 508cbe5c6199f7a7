"""Reads of the inventory. Nothing here changes state."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from inventory.errors import ProductNotFound, ReservationNotFound
from inventory.models import Product, Reservation


def product_get(*, sku: str) -> Product:
    try:
        return Product.objects.get(sku=sku)
    except Product.DoesNotExist:
        raise ProductNotFound(sku=sku) from None


def product_list() -> QuerySet[Product]:
    return Product.objects.all()


def reservation_get(*, order_id: UUID) -> Reservation:
    try:
        return Reservation.objects.prefetch_related("lines").get(order_id=order_id)
    except Reservation.DoesNotExist:
        raise ReservationNotFound(order_id=str(order_id)) from None

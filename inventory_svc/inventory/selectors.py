"""Reads of the inventory and its reservation event ledger. Nothing here changes state."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from inventory.errors import ProductNotFound, ReservationNotFound
from inventory.models import Product, Reservation, ReservationEvent


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


def reservation_list() -> QuerySet[Reservation]:
    return Reservation.objects.prefetch_related("lines")


def reservation_event_list(*, order_id: UUID | None = None) -> QuerySet[ReservationEvent]:
    events = ReservationEvent.objects.all()
    return events.filter(order_id=order_id) if order_id else events

"""Reads of the inventory and its reservation event ledger. Nothing here changes state."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet

from inventory.errors import ProductNotFound, ReservationNotFound
from inventory.models import Product, Reservation, ReservationEvent


class Availability(StrEnum):
    """How much of a product the public catalog admits to: a band, never a count."""

    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    OUT_OF_STOCK = "out_of_stock"


def product_get(*, sku: str) -> Product:
    try:
        return Product.objects.get(sku=sku)
    except Product.DoesNotExist:
        raise ProductNotFound(sku=sku) from None


def product_list() -> QuerySet[Product]:
    return Product.objects.all()


def product_availability(*, product: Product) -> Availability:
    """The band of what is free to reserve (on hand less reserved): low below STOCK_LOW_THRESHOLD
    units, the level under which a reservation publishes `stock.low`."""
    if product.available <= 0:
        return Availability.OUT_OF_STOCK
    if product.available < settings.STOCK_LOW_THRESHOLD:
        return Availability.LOW_STOCK
    return Availability.IN_STOCK


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

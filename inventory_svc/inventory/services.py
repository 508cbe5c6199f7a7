"""State changes of the inventory: products and the reservation state machine.

Every function runs in one transaction, locks the product rows it changes (in
SKU order, so two reservations cannot deadlock or oversell), records each real
transition as a ReservationEvent in that transaction, and is safe to call twice
for the same order.
"""

from __future__ import annotations

from uuid import UUID

from django.db import IntegrityError, transaction

from inventory.errors import (
    OutOfStock,
    ProductExists,
    ProductNotFound,
    ReservationCommitted,
    ReservationConflict,
    ReservationNotFound,
    ReservationReleased,
    StockLimit,
    UnknownSku,
)
from inventory.models import Product, Reservation, ReservationEvent, ReservationLine


def product_create(*, sku: str, name: str, price_cents: int, on_hand: int, currency: str = "USD") -> Product:
    try:
        with transaction.atomic():
            return Product.objects.create(
                sku=sku, name=name, price_cents=price_cents, on_hand=on_hand, received=on_hand, currency=currency
            )
    except IntegrityError:
        raise ProductExists(sku=sku) from None


STOCK_LIMIT = 2_000_000_000
"""Most units one product may ever have received (its counters are 32-bit in every database)."""


def product_restock(*, sku: str, quantity: int) -> Product:
    """Receive `quantity` more units: on hand and received grow together, so received − on hand
    (what was sold) is unchanged."""
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(sku=sku).first()
        if product is None:
            raise ProductNotFound(sku=sku)
        if product.received + quantity > STOCK_LIMIT:
            raise StockLimit(sku=sku, received=product.received, limit=STOCK_LIMIT)
        product.on_hand += quantity
        product.received += quantity
        product.save(update_fields=["on_hand", "received", "updated_at"])
        return product


def _lock_products(skus: list[str]) -> dict[str, Product]:
    return {p.sku: p for p in Product.objects.select_for_update().filter(sku__in=sorted(skus)).order_by("sku")}


def _locked_reservation(order_id: UUID) -> Reservation | None:
    return Reservation.objects.select_for_update().filter(order_id=order_id).first()


def _record(order_id: UUID, kind: str, idempotency_key: str) -> None:
    ReservationEvent.objects.create(order_id=order_id, kind=kind, idempotency_key=idempotency_key)


def reservation_create(
    *, order_id: UUID, items: list[tuple[str, int]], idempotency_key: str = ""
) -> tuple[Reservation, bool]:
    """Reserve every line or none, snapshotting unit prices. Returns (reservation, created)."""
    wanted = dict(items)
    with transaction.atomic():
        products = _lock_products(list(wanted))
        existing = _locked_reservation(order_id)
        if existing is not None:
            if existing.status == Reservation.Status.RELEASED:
                raise ReservationReleased(order_id=str(order_id))
            held = {line.product_id: line.quantity for line in existing.lines.all()}
            if held != wanted:
                raise ReservationConflict(order_id=str(order_id))
            return existing, False

        unknown = sorted(set(wanted) - set(products))
        if unknown:
            raise UnknownSku(f"Unknown SKU: {', '.join(unknown)}.", skus=unknown)
        short = [
            {"sku": sku, "requested": qty, "available": products[sku].available}
            for sku, qty in sorted(wanted.items())
            if products[sku].available < qty
        ]
        if short:
            raise OutOfStock(lines=short)
        currencies = {products[sku].currency for sku in wanted}
        if len(currencies) != 1:
            raise ReservationConflict("Lines are priced in different currencies.", currencies=sorted(currencies))

        try:
            with transaction.atomic():
                reservation = Reservation.objects.create(
                    order_id=order_id,
                    status=Reservation.Status.RESERVED,
                    total_cents=sum(products[sku].price_cents * qty for sku, qty in wanted.items()),
                    currency=currencies.pop(),
                )
        except IntegrityError:
            # This order's release (a compensation that holds no product lock) committed its
            # tombstone just now: the late reserve is refused like any other.
            raise ReservationReleased(order_id=str(order_id)) from None
        for sku, qty in sorted(wanted.items()):
            product = products[sku]
            product.reserved += qty
            product.save(update_fields=["reserved", "updated_at"])
            ReservationLine.objects.create(
                reservation=reservation, product=product, quantity=qty, unit_price_cents=product.price_cents
            )
        _record(order_id, ReservationEvent.Kind.RESERVED, idempotency_key)
        return reservation, True


def _lock_order_stock(order_id: UUID) -> tuple[Reservation | None, dict[str, Product]]:
    """Lock an order's products, then its reservation: the same order as reservation_create, so a
    late reserve racing its own release cannot deadlock. (A reservation's lines never change.)"""
    skus = list(ReservationLine.objects.filter(reservation_id=order_id).values_list("product_id", flat=True))
    products = _lock_products(skus)
    reservation = _locked_reservation(order_id)
    if reservation is not None:
        # Its reserve committed between the two reads: that transaction is over, so locking its
        # products now cannot deadlock with it.
        missing = [line.product_id for line in reservation.lines.all() if line.product_id not in products]
        products |= _lock_products(missing)
    return reservation, products


def reservation_release(*, order_id: UUID, idempotency_key: str = "") -> Reservation:
    """Compensation: give the stock back. With nothing reserved, leave a RELEASED tombstone."""
    with transaction.atomic():
        reservation, products = _lock_order_stock(order_id)
        if reservation is None:
            try:
                with transaction.atomic():
                    tombstone = Reservation.objects.create(order_id=order_id, status=Reservation.Status.RELEASED)
                    _record(order_id, ReservationEvent.Kind.RELEASED, idempotency_key)
                    return tombstone
            except IntegrityError:
                # A slow reserve for this order committed just now: release what it took.
                reservation, products = _lock_order_stock(order_id)
        if reservation.status == Reservation.Status.RELEASED:
            return reservation
        if reservation.status == Reservation.Status.COMMITTED:
            raise ReservationCommitted(order_id=str(order_id))
        for line in reservation.lines.all():
            product = products[line.product_id]
            product.reserved -= line.quantity
            product.save(update_fields=["reserved", "updated_at"])
        reservation.status = Reservation.Status.RELEASED
        reservation.save(update_fields=["status", "updated_at"])
        _record(order_id, ReservationEvent.Kind.RELEASED, idempotency_key)
        return reservation


def reservation_commit(*, order_id: UUID, idempotency_key: str = "") -> Reservation:
    """Reserved stock becomes sold: on_hand and reserved both fall by the reserved quantities."""
    with transaction.atomic():
        reservation, products = _lock_order_stock(order_id)
        if reservation is None:
            raise ReservationNotFound(order_id=str(order_id))
        if reservation.status == Reservation.Status.COMMITTED:
            return reservation
        if reservation.status == Reservation.Status.RELEASED:
            raise ReservationReleased(order_id=str(order_id))
        for line in reservation.lines.all():
            product = products[line.product_id]
            product.reserved -= line.quantity
            product.on_hand -= line.quantity
            product.save(update_fields=["reserved", "on_hand", "updated_at"])
        reservation.status = Reservation.Status.COMMITTED
        reservation.save(update_fields=["status", "updated_at"])
        _record(order_id, ReservationEvent.Kind.COMMITTED, idempotency_key)
        return reservation

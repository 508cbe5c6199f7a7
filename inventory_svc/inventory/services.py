"""State changes of the inventory: products and the reservation state machine.

Every function runs in one transaction (the idempotent request's, when there is one), records each
real transition as a ReservationEvent in that transaction, and is safe to call twice for the same
order. Where writers run side by side (PostgreSQL), a reservation's changes first lock the product
rows it holds, in SKU order, so that two reservations can neither deadlock nor oversell; SQLite lets
one writer in at a time and needs no locks. Refusals are raised before the first write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, QuerySet, Value, When
from django.utils import timezone

from chassis.errors import DomainError
from chassis.events.services import event_record
from chassis.idempotency.effects import (
    concurrent_writers,
    effect_transaction,
    insert_savepoint,
    remember_related,
)
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
from saga_contract.events import EventType


def product_create(*, sku: str, name: str, price_cents: int, on_hand: int, currency: str = "USD") -> Product:
    try:
        with transaction.atomic():
            return Product.objects.create(
                sku=sku,
                name=name,
                price_cents=price_cents,
                on_hand=on_hand,
                received=on_hand,
                currency=currency,
            )
    except IntegrityError:
        raise ProductExists(sku=sku) from None


STOCK_LIMIT = 2_000_000_000
"""Most units one product may ever have received (its counters are 32-bit in every database)."""


def product_restock(*, sku: str, quantity: int) -> Product:
    """Receive `quantity` more units: on hand and received grow together, so received − on hand
    (what was sold) is unchanged."""
    with effect_transaction():
        product = Product.objects.select_for_update().filter(sku=sku).first()
        if product is None:
            raise ProductNotFound(sku=sku)
        if product.received + quantity > STOCK_LIMIT:
            raise StockLimit(sku=sku, received=product.received, limit=STOCK_LIMIT)
        product.on_hand += quantity
        product.received += quantity
        product.save(update_fields=["on_hand", "received", "updated_at"])
        return product


def _lock_products(skus: Iterable[str]) -> QuerySet[Product]:
    """The products of `skus`, locked in SKU order (on PostgreSQL; SQLite ignores FOR UPDATE)."""
    return Product.objects.select_for_update().filter(sku__in=sorted(skus)).order_by("sku")


def _shift_stock(quantities: dict[str, int], **signs: int) -> None:
    """Add sign × quantity to the named counters of each product (`reserved=1`, `on_hand=-1`) in one
    UPDATE. The database does the arithmetic, on rows this transaction has locked (or, on SQLite,
    while no other writer runs), so the counts stay exact."""
    per_sku = Case(*(When(sku=sku, then=Value(quantity)) for sku, quantity in quantities.items()))
    shifted = Product.objects.filter(sku__in=quantities).update(
        updated_at=timezone.now(), **{counter: F(counter) + sign * per_sku for counter, sign in signs.items()}
    )
    if not quantities or shifted != len(quantities):  # never leave a reservation's stock behind
        raise RuntimeError(f"stock of {sorted(quantities)} shifted on {shifted} products")


def _record(order_id: UUID, kind: str, idempotency_key: str) -> None:
    ReservationEvent.objects.create(order_id=order_id, kind=kind, idempotency_key=idempotency_key)


def _reservation_with_lines(order_id: UUID) -> Reservation | None:
    """The order's reservation with its lines, read in one statement (two for a tombstone or none)."""
    lines = list(ReservationLine.objects.filter(reservation_id=order_id).select_related("reservation"))
    reservation = lines[0].reservation if lines else Reservation.objects.filter(order_id=order_id).first()
    if reservation is not None and not lines and reservation.status != Reservation.Status.RELEASED:
        # Only a tombstone has no lines: this reservation's reserve committed between the two reads
        # (on PostgreSQL each statement sees what had committed when it began), so read them again.
        lines = list(reservation.lines.all())
    if reservation is not None:
        remember_related(reservation, "lines", lines)
    return reservation


def _record_low_stock(taken: dict[str, int], products: Mapping[str, Product]) -> None:
    """A stock.low event for each product whose availability `taken` brought below STOCK_LOW_THRESHOLD
    (`products` as they were before): once per fall, not again while it stays low."""
    threshold = settings.STOCK_LOW_THRESHOLD
    for sku, quantity in sorted(taken.items()):
        before = products[sku].available
        if before >= threshold > before - quantity:
            event_record(
                EventType.STOCK_LOW,
                key=sku,
                data={"sku": sku, "available": before - quantity, "threshold": threshold},
            )


def _stock_refusal(wanted: dict[str, int], products: Mapping[str, Product]) -> DomainError | None:
    """Why these products cannot fill `wanted` (unknown SKUs, too little stock, mixed currencies), or None."""
    unknown = sorted(set(wanted) - set(products))
    if unknown:
        return UnknownSku(f"Unknown SKU: {', '.join(unknown)}.", skus=unknown)
    short = [
        {"sku": sku, "requested": qty, "available": products[sku].available}
        for sku, qty in sorted(wanted.items())
        if products[sku].available < qty
    ]
    if short:
        return OutOfStock(lines=short)
    currencies = {products[sku].currency for sku in wanted}
    if len(currencies) != 1:
        return ReservationConflict("Lines are priced in different currencies.", currencies=sorted(currencies))
    return None


def _reservation_insert(
    order_id: UUID, wanted: dict[str, int], products: Mapping[str, Product]
) -> Reservation | None:
    """Store the reservation and its lines, or return None when this order's reservation was committed
    since this transaction looked: a release's tombstone (a compensation that holds no product lock)
    or a concurrent reserve, which PostgreSQL allows."""
    try:
        with insert_savepoint():
            reservation = Reservation.objects.create(
                order_id=order_id,
                status=Reservation.Status.RESERVED,
                total_cents=sum(products[sku].price_cents * qty for sku, qty in wanted.items()),
                currency=products[next(iter(wanted))].currency,
            )
    except IntegrityError:
        return None
    lines = ReservationLine.objects.bulk_create(
        ReservationLine(
            reservation=reservation,
            product=products[sku],
            quantity=qty,
            unit_price_cents=products[sku].price_cents,
        )
        for sku, qty in sorted(wanted.items())
    )
    remember_related(reservation, "lines", lines)
    return reservation


def reservation_create(
    *, order_id: UUID, items: list[tuple[str, int]], idempotency_key: str = ""
) -> tuple[Reservation, bool]:
    """Reserve every line or none, snapshotting unit prices. Returns (reservation, created)."""
    wanted = dict(items)
    with effect_transaction():
        # One statement reads (and locks) the products and tells whether this order has a reservation.
        locked = _lock_products(wanted).annotate(
            order_held=Exists(Reservation.objects.filter(order_id=order_id))
        )
        products = {product.sku: product for product in locked}
        refusal = _stock_refusal(wanted, products)
        if refusal is None and not next(iter(products.values())).order_held:
            reservation = _reservation_insert(order_id, wanted, products)
            if reservation is not None:
                _shift_stock(wanted, reserved=1)
                _record(order_id, ReservationEvent.Kind.RESERVED, idempotency_key)
                _record_low_stock(wanted, products)
                return reservation, True
        # A repeat of a reserve that went through is answered with its reservation, whatever the
        # stock is now; a refusal is only given to an order that holds nothing.
        existing = _reservation_with_lines(order_id)
        if existing is None:
            # An order holds no reservation here only when its reserve was refused.
            assert refusal is not None
            raise refusal
        if existing.status == Reservation.Status.RELEASED:
            raise ReservationReleased(order_id=str(order_id))
        if {line.product_id: line.quantity for line in existing.lines.all()} != wanted:
            raise ReservationConflict(order_id=str(order_id))
        return existing, False


def _reservation_finish(
    reservation: Reservation, *, to: str, refusal: type[DomainError], idempotency_key: str, **counters: int
) -> Reservation:
    """Move a RESERVED reservation to `to` (COMMITTED or RELEASED), shifting its products' `counters`
    by its lines. A repeat returns it as it is; the other final state is refused with `refusal`."""
    if reservation.status == Reservation.Status.RESERVED:
        quantities = {line.product_id: line.quantity for line in reservation.lines.all()}
        if concurrent_writers():
            # The same lock order as reservation_create, before the reservation's row: no deadlock.
            list(_lock_products(quantities).values_list("sku", flat=True))
        now = timezone.now()
        order_id = reservation.order_id
        if Reservation.objects.filter(order_id=order_id, status=Reservation.Status.RESERVED).update(
            status=to, updated_at=now
        ):
            _shift_stock(quantities, **counters)
            _record(order_id, ReservationEvent.Kind(to), idempotency_key)
            reservation.status, reservation.updated_at = to, now
            return reservation
        # Another transaction finished it after it was read (PostgreSQL): final states never change.
        finished = _reservation_with_lines(order_id)
        assert finished is not None  # A reservation is never deleted.
        reservation = finished
    if reservation.status == to:
        return reservation
    raise refusal(order_id=str(reservation.order_id))


def reservation_release(*, order_id: UUID, idempotency_key: str = "") -> Reservation:
    """Compensation: give the stock back. With nothing reserved, leave a RELEASED tombstone."""
    with effect_transaction():
        reservation = _reservation_with_lines(order_id)
        if reservation is None:
            try:
                with insert_savepoint():
                    tombstone = Reservation.objects.create(
                        order_id=order_id, status=Reservation.Status.RELEASED
                    )
            except IntegrityError:
                # A slow reserve for this order committed just now: release what it took.
                reservation = _reservation_with_lines(order_id)
                assert reservation is not None  # The insert met the reserve's row, so it exists.
            else:
                _record(order_id, ReservationEvent.Kind.RELEASED, idempotency_key)
                remember_related(tombstone, "lines", [])
                return tombstone
        return _reservation_finish(
            reservation,
            to=Reservation.Status.RELEASED,
            refusal=ReservationCommitted,
            idempotency_key=idempotency_key,
            reserved=-1,
        )


def reservation_commit(*, order_id: UUID, idempotency_key: str = "") -> Reservation:
    """Reserved stock becomes sold: on_hand and reserved both fall by the reserved quantities."""
    with effect_transaction():
        reservation = _reservation_with_lines(order_id)
        if reservation is None:
            raise ReservationNotFound(order_id=str(order_id))
        return _reservation_finish(
            reservation,
            to=Reservation.Status.COMMITTED,
            refusal=ReservationReleased,
            idempotency_key=idempotency_key,
            reserved=-1,
            on_hand=-1,
        )

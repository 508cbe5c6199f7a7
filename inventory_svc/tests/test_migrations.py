"""Migration 0002 on a database that already holds stock: received and events are rebuilt from state."""

import uuid

import pytest

BEFORE = [("inventory", "0001_initial")]
AFTER = [("inventory", "0002_product_received_reservation_events")]


@pytest.mark.django_db(transaction=True)
def test_existing_products_and_reservations_get_their_stock_received_and_events(migrations):
    old = migrations(BEFORE)
    product = old.get_model("inventory", "Product").objects.create(
        sku="A", name="A", price_cents=1, on_hand=7
    )
    reservations = old.get_model("inventory", "Reservation").objects
    line = old.get_model("inventory", "ReservationLine").objects
    committed, released, tombstone = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for order_id, status, quantity in ((committed, "COMMITTED", 3), (released, "RELEASED", 2)):
        reservation = reservations.create(order_id=order_id, status=status)
        line.create(reservation=reservation, product=product, quantity=quantity, unit_price_cents=1)
    reservations.create(order_id=tombstone, status="RELEASED")

    new = migrations(AFTER)

    assert new.get_model("inventory", "Product").objects.get().received == 10
    events = new.get_model("inventory", "ReservationEvent").objects
    assert sorted((str(e.order_id), e.kind) for e in events.all()) == sorted(
        [
            (str(committed), "RESERVED"),
            (str(committed), "COMMITTED"),
            (str(released), "RESERVED"),
            (str(released), "RELEASED"),
            (str(tombstone), "RELEASED"),
        ]
    )

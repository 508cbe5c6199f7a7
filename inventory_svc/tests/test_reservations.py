"""Reservation state machine through the services and the REST API."""

import uuid

import pytest
from inventory import services
from inventory.errors import OutOfStock, ReservationCommitted, ReservationReleased, UnknownSku
from inventory.models import Product, Reservation

pytestmark = pytest.mark.django_db


def stock(sku):
    p = Product.objects.get(sku=sku)
    return p.on_hand, p.reserved


def test_reserve_all_lines_snapshots_prices(saga, operator, make_product):
    make_product(sku="A", price_cents=250, on_hand=5)
    make_product(sku="B", price_cents=1000, on_hand=1)
    order_id = str(uuid.uuid4())

    r = saga.post(
        "/internal/v1/reservations",
        {"order_id": order_id, "items": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}]},
    )

    assert r.status_code == 201
    assert r.json() == {
        "order_id": order_id,
        "status": "RESERVED",
        "lines": [
            {"sku": "A", "quantity": 2, "unit_price_cents": 250},
            {"sku": "B", "quantity": 1, "unit_price_cents": 1000},
        ],
        "total_cents": 1500,
        "currency": "USD",
    }
    assert stock("A") == (5, 2)
    assert stock("B") == (1, 1)
    Product.objects.filter(sku="A").update(price_cents=999)
    assert operator.get(f"/api/v1/reservations/{order_id}").json()["lines"][0]["unit_price_cents"] == 250


def test_out_of_stock_reserves_nothing(saga, make_product):
    make_product(sku="A", on_hand=5)
    make_product(sku="B", on_hand=1)
    order_id = str(uuid.uuid4())

    r = saga.post(
        "/internal/v1/reservations",
        {"order_id": order_id, "items": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 2}]},
    )

    assert r.status_code == 409
    assert r.json()["code"] == "out_of_stock"
    assert r.json()["details"] == {"lines": [{"sku": "B", "requested": 2, "available": 1}]}
    assert stock("A") == (5, 0)
    assert stock("B") == (1, 0)
    assert not Reservation.objects.exists()


def test_unknown_sku_is_422_and_reserves_nothing(saga, make_product):
    make_product(sku="A", on_hand=5)
    r = saga.post(
        "/internal/v1/reservations",
        {
            "order_id": str(uuid.uuid4()),
            "items": [{"sku": "A", "quantity": 1}, {"sku": "NOPE", "quantity": 1}],
        },
    )
    assert r.status_code == 422
    assert r.json()["code"] == "unknown_sku"
    assert r.json()["details"] == {"skus": ["NOPE"]}
    assert stock("A") == (5, 0)


def test_reserve_twice_for_same_order_returns_existing_without_second_effect(make_product):
    make_product(sku="A", on_hand=5)
    order_id = uuid.uuid4()
    first, created = services.reservation_create(order_id=order_id, items=[("A", 2)])
    again, created_again = services.reservation_create(order_id=order_id, items=[("A", 2)])
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert stock("A") == (5, 2)


def test_release_gives_stock_back_and_is_repeatable(make_product):
    make_product(sku="A", on_hand=5)
    order_id = uuid.uuid4()
    services.reservation_create(order_id=order_id, items=[("A", 3)])
    assert services.reservation_release(order_id=order_id).status == "RELEASED"
    assert services.reservation_release(order_id=order_id).status == "RELEASED"
    assert stock("A") == (5, 0)


def test_release_without_reservation_leaves_tombstone_that_refuses_late_reserve(saga, make_product):
    make_product(sku="A", on_hand=5)
    order_id = str(uuid.uuid4())

    r = saga.post(f"/internal/v1/reservations/{order_id}/release")
    assert r.status_code == 200
    assert r.json()["status"] == "RELEASED"
    assert r.json()["lines"] == []

    late = saga.post(
        "/internal/v1/reservations", {"order_id": order_id, "items": [{"sku": "A", "quantity": 1}]}
    )
    assert late.status_code == 409
    assert late.json()["code"] == "reservation_released"
    assert stock("A") == (5, 0)


def test_commit_turns_reserved_into_sold(saga, make_product):
    make_product(sku="A", on_hand=5)
    order_id = uuid.uuid4()
    services.reservation_create(order_id=order_id, items=[("A", 2)])

    r = saga.post(f"/internal/v1/reservations/{order_id}/commit")
    assert r.status_code == 200
    assert r.json()["status"] == "COMMITTED"
    assert stock("A") == (3, 0)
    services.reservation_commit(order_id=order_id)
    assert stock("A") == (3, 0)


def test_committed_cannot_be_released_and_released_cannot_be_committed(make_product):
    make_product(sku="A", on_hand=5)
    committed, released = uuid.uuid4(), uuid.uuid4()
    services.reservation_create(order_id=committed, items=[("A", 1)])
    services.reservation_create(order_id=released, items=[("A", 1)])
    services.reservation_commit(order_id=committed)
    services.reservation_release(order_id=released)
    with pytest.raises(ReservationCommitted):
        services.reservation_release(order_id=committed)
    with pytest.raises(ReservationReleased):
        services.reservation_commit(order_id=released)
    assert stock("A") == (4, 0)


def test_commit_unknown_order_is_404(saga):
    r = saga.post(f"/internal/v1/reservations/{uuid.uuid4()}/commit")
    assert r.status_code == 404
    assert r.json()["code"] == "reservation_not_found"


def test_service_errors_carry_their_codes(make_product):
    make_product(sku="A", on_hand=1)
    with pytest.raises(UnknownSku):
        services.reservation_create(order_id=uuid.uuid4(), items=[("X", 1)])
    with pytest.raises(OutOfStock):
        services.reservation_create(order_id=uuid.uuid4(), items=[("A", 2)])

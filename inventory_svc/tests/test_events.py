"""The reservation event ledger: one event per real transition, in its transaction, carrying the request's
key; `received` kept while stock moves; and the paginated read endpoints the auditor uses."""

import uuid

import pytest
from inventory import services
from inventory.errors import OutOfStock, ReservationReleased
from inventory.models import Product, Reservation, ReservationEvent

pytestmark = pytest.mark.django_db


def events(order_id):
    return [(e.kind, e.idempotency_key) for e in ReservationEvent.objects.filter(order_id=order_id)]


def reserve_body(order_id, quantity=2):
    return {"order_id": str(order_id), "items": [{"sku": "A", "quantity": quantity}]}


def test_received_is_kept_while_stock_is_sold(operator):
    operator.post("/api/v1/products", {"sku": "A", "name": "A", "price_cents": 100, "on_hand": 9})
    order_id = uuid.uuid4()
    services.reservation_create(order_id=order_id, items=[("A", 4)])
    services.reservation_commit(order_id=order_id)
    product = Product.objects.get(sku="A")
    assert (product.on_hand, product.reserved, product.received) == (5, 0, 9)


def test_reserve_then_commit_records_one_event_each_with_the_request_key(saga, make_product):
    make_product(sku="A", on_hand=5)
    order_id = uuid.uuid4()
    for key in ("order-x:reserve_stock", "a-late-retry"):
        saga.post("/internal/v1/reservations", reserve_body(order_id), key=key)
    for key in ("order-x:commit_stock", "another-retry"):
        saga.post(f"/internal/v1/reservations/{order_id}/commit", key=key)

    assert events(order_id) == [("RESERVED", "order-x:reserve_stock"), ("COMMITTED", "order-x:commit_stock")]


def test_release_records_once_and_a_tombstone_release_records_too(saga, make_product):
    make_product(sku="A", on_hand=5)
    reserved, never_reserved = uuid.uuid4(), uuid.uuid4()
    saga.post("/internal/v1/reservations", reserve_body(reserved), key="k-reserve")
    for key in ("k-release", "k-release-again"):
        saga.post(f"/internal/v1/reservations/{reserved}/release", key=key)
    saga.post(f"/internal/v1/reservations/{never_reserved}/release", key="k-tombstone")
    refused = saga.post("/internal/v1/reservations", reserve_body(never_reserved), key="k-late")

    assert refused.status_code == 409
    assert events(reserved) == [("RESERVED", "k-reserve"), ("RELEASED", "k-release")]
    assert events(never_reserved) == [("RELEASED", "k-tombstone")]


def test_business_refusals_record_nothing(make_product):
    make_product(sku="A", on_hand=1)
    short, released = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(OutOfStock):
        services.reservation_create(order_id=short, items=[("A", 2)])
    services.reservation_release(order_id=released)
    with pytest.raises(ReservationReleased):
        services.reservation_commit(order_id=released)

    assert events(short) == []
    assert events(released) == [("RELEASED", "")]


@pytest.mark.django_db(
    transaction=True
)  # the failure rolls back the service's own transaction, not a savepoint
def test_an_event_that_cannot_be_written_undoes_its_transition(make_product, monkeypatch):
    make_product(sku="A", on_hand=5)
    order_id = uuid.uuid4()
    services.reservation_create(order_id=order_id, items=[("A", 2)])

    def refuse(**fields):
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(ReservationEvent.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        services.reservation_commit(order_id=order_id)

    assert Reservation.objects.get(order_id=order_id).status == "RESERVED"
    product = Product.objects.get(sku="A")
    assert (product.on_hand, product.reserved) == (5, 2)


def test_event_list_filters_by_order_and_pages(saga, operator, make_product):
    make_product(sku="A", on_hand=10)
    first, second = uuid.uuid4(), uuid.uuid4()
    for order_id in (first, second):
        saga.post("/internal/v1/reservations", reserve_body(order_id, 1), key=f"reserve-{order_id}")
    saga.post(f"/internal/v1/reservations/{first}/commit", key="commit")

    listed = operator.get("/api/v1/reservation-events", {"order_id": str(first)}).json()
    assert listed["count"] == 2
    assert listed["next"] is None
    assert [(e["kind"], e["idempotency_key"]) for e in listed["results"]] == [
        ("RESERVED", f"reserve-{first}"),
        ("COMMITTED", "commit"),
    ]
    assert set(listed["results"][0]) == {"id", "order_id", "kind", "idempotency_key", "created_at"}
    page = operator.get("/api/v1/reservation-events", {"page_size": 2, "page": 2}).json()
    assert page["count"] == 3
    assert [e["kind"] for e in page["results"]] == ["COMMITTED"]
    assert (
        operator.get("/api/v1/reservation-events", {"order_id": "nope"}).json()["code"] == "validation_error"
    )


def test_reservations_are_listed_with_their_lines_newest_first_and_paginated(operator, make_product):
    make_product(sku="A", price_cents=250, on_hand=10)
    order_ids = [uuid.uuid4() for _ in range(3)]
    for quantity, order_id in enumerate(order_ids, start=1):
        services.reservation_create(order_id=order_id, items=[("A", quantity)])
    services.reservation_release(order_id=order_ids[0])

    listed = operator.get("/api/v1/reservations", {"page_size": 2}).json()
    assert listed["count"] == 3
    assert listed["next"] is not None
    assert listed["results"][0] == {
        "order_id": str(order_ids[2]),
        "status": "RESERVED",
        "lines": [{"sku": "A", "quantity": 3, "unit_price_cents": 250}],
        "total_cents": 750,
        "currency": "USD",
    }
    last = operator.get("/api/v1/reservations", {"page_size": 2, "page": 2}).json()["results"]
    assert [(r["order_id"], r["status"]) for r in last] == [(str(order_ids[0]), "RELEASED")]


def test_products_are_paginated_by_sku(operator, make_product):
    for sku in ("C", "A", "B"):
        make_product(sku=sku, on_hand=3)
    page = operator.get("/api/v1/products", {"page_size": 2}).json()
    assert page["count"] == 3
    assert [p["sku"] for p in page["results"]] == ["A", "B"]
    assert page["results"][0]["received"] == 3
    assert operator.get("/api/v1/products", {"page": 3}).status_code == 404

"""Concurrent reservations never oversell. Needs PostgreSQL: real row locks, real parallel transactions."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections
from inventory import services
from inventory.errors import OutOfStock, ReservationReleased
from inventory.models import Product, Reservation

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL=postgres://...); SQLite serialises writers anyway",
    ),
]


def _reserve(sku: str, quantity: int) -> bool:
    try:
        services.reservation_create(order_id=uuid.uuid4(), items=[(sku, quantity)])
        return True
    except OutOfStock:
        return False
    finally:
        connections.close_all()


def test_twenty_concurrent_reservations_for_five_units_sell_exactly_five():
    Product.objects.create(sku="HOT", name="Hot item", price_cents=100, on_hand=5, received=5)
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda _: _reserve("HOT", 1), range(20)))
    product = Product.objects.get(sku="HOT")
    assert outcomes.count(True) == 5
    assert (product.on_hand, product.reserved) == (5, 5)


def test_concurrent_multi_line_reservations_in_opposite_order_do_not_deadlock():
    Product.objects.create(sku="X", name="X", price_cents=1, on_hand=50, received=50)
    Product.objects.create(sku="Y", name="Y", price_cents=1, on_hand=50, received=50)

    def reserve_pair(i: int) -> bool:
        items = [("X", 1), ("Y", 1)] if i % 2 else [("Y", 1), ("X", 1)]
        try:
            services.reservation_create(order_id=uuid.uuid4(), items=items)
            return True
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(reserve_pair, range(40)))
    assert sorted(Product.objects.values_list("reserved", flat=True)) == [40, 40]


def test_a_release_that_reads_while_its_reserve_commits_releases_the_reserved_stock(monkeypatch):
    """The release reads the lines (none yet), its reserve commits, then the release reads the
    reservation: the lines must be read again, or the reservation is released with its stock held.
    A pause before each of the release's reads of a reservation holds that window open."""
    releasing = threading.local()
    real_filter, real_release = Reservation.objects.filter, services.reservation_release

    def slow_filter(*args: Any, **kwargs: Any) -> Any:
        if getattr(releasing, "now", False):
            time.sleep(0.05)
        return real_filter(*args, **kwargs)

    def release(**kwargs: Any) -> Any:
        releasing.now = True
        try:
            return real_release(**kwargs)
        finally:
            releasing.now = False

    monkeypatch.setattr(Reservation.objects, "filter", slow_filter)
    monkeypatch.setattr(services, "reservation_release", release)
    test_a_late_reserve_racing_its_own_release_leaves_no_stock_held()


def test_a_late_reserve_racing_its_own_release_leaves_no_stock_held():
    """The compensation case: release and a slow reserve of the same order, at the same time."""
    Product.objects.create(sku="RACE", name="Race", price_cents=1, on_hand=100, received=100)
    order_ids = [uuid.uuid4() for _ in range(20)]

    def reserve(order_id):
        try:
            services.reservation_create(order_id=order_id, items=[("RACE", 2)])
        except ReservationReleased:
            pass  # the release won and left its tombstone
        finally:
            connections.close_all()

    def release(order_id):
        try:
            services.reservation_release(order_id=order_id)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(fn, order_id) for order_id in order_ids for fn in (reserve, release)]
        for future in futures:
            future.result()
    product = Product.objects.get(sku="RACE")
    assert (product.on_hand, product.reserved) == (100, 0)


def test_concurrent_duplicates_of_one_request_make_one_effect_and_all_get_its_answer(operator, monkeypatch):
    """The same Idempotency-Key sent eight times at once, the first still working when the others
    arrive: one restock, and every duplicate waits for it and is given its answer (not a 409)."""
    Product.objects.create(sku="DUP", name="Dup", price_cents=1, on_hand=10, received=10)
    restock = services.product_restock

    def slow_restock(**kwargs):
        time.sleep(0.3)
        return restock(**kwargs)

    monkeypatch.setattr(services, "product_restock", slow_restock)

    def send(_):
        try:
            return operator.post("/api/v1/products/DUP/restock", {"quantity": 5}, key="restock-once")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(send, range(8)))
    assert [r.status_code for r in responses] == [200] * 8
    assert len({r.content for r in responses}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 7
    assert Product.objects.get(sku="DUP").received == 15

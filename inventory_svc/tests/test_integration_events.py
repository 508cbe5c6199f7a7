"""inventory_svc publishes stock.low when a reservation brings a product's available stock below
STOCK_LOW_THRESHOLD: once per fall, in the reservation's transaction; nothing while it stays low,
and again after a restock lifted it."""

import uuid

import pytest
from inventory import services

from chassis.events.models import OutboxEvent
from saga_contract.events import EventType

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def threshold(settings):
    settings.STOCK_LOW_THRESHOLD = 5


def reserve(*items: tuple[str, int]) -> None:
    services.reservation_create(order_id=uuid.uuid4(), items=list(items))


def low_stock() -> list[dict]:
    return [e.data for e in OutboxEvent.objects.filter(type=EventType.STOCK_LOW).order_by("sequence")]


def test_a_reservation_that_crosses_the_threshold_records_stock_low_once(make_product):
    make_product(sku="MUG", on_hand=8)
    make_product(sku="BEANS", on_hand=100)

    reserve(("MUG", 2), ("BEANS", 1))  # 6 left: not yet
    reserve(("MUG", 3))  # 3 left: below 5
    reserve(("MUG", 1))  # 2 left: still low, no second event

    assert low_stock() == [{"sku": "MUG", "available": 3, "threshold": 5}]
    assert OutboxEvent.objects.get().key == "MUG"


def test_after_a_restock_the_next_fall_is_told_again(make_product):
    make_product(sku="MUG", on_hand=5)
    reserve(("MUG", 1))
    services.product_restock(sku="MUG", quantity=10)
    reserve(("MUG", 11))

    assert low_stock() == [
        {"sku": "MUG", "available": 4, "threshold": 5},
        {"sku": "MUG", "available": 3, "threshold": 5},
    ]


def test_a_refused_reservation_records_nothing(make_product):
    make_product(sku="MUG", on_hand=5)
    with pytest.raises(Exception, match="stock"):
        reserve(("MUG", 6))

    assert low_stock() == []

"""The catalog: products created, read and restocked by operators."""

import uuid

import pytest
from inventory import services
from inventory.models import Product

pytestmark = pytest.mark.django_db


def test_create_and_read_product(operator):
    r = operator.post("/api/v1/products", {"sku": "MUG-1", "name": "Mug", "price_cents": 1299, "on_hand": 7})
    assert r.status_code == 201
    got = operator.get("/api/v1/products/MUG-1")
    assert got.status_code == 200
    assert got.json() == {
        "sku": "MUG-1",
        "name": "Mug",
        "price_cents": 1299,
        "currency": "USD",
        "on_hand": 7,
        "reserved": 0,
        "available": 7,
        "received": 7,
    }
    assert [p["sku"] for p in operator.get("/api/v1/products").json()["results"]] == ["MUG-1"]


def test_duplicate_sku_is_409(operator, make_product):
    make_product(sku="MUG-1")
    r = operator.post("/api/v1/products", {"sku": "MUG-1", "name": "Mug", "price_cents": 1, "on_hand": 1})
    assert r.status_code == 409
    assert r.json()["code"] == "product_exists"


def test_unknown_product_is_404_in_error_shape(operator):
    r = operator.get("/api/v1/products/NOPE")
    assert r.status_code == 404
    assert r.json() == {
        "code": "product_not_found",
        "message": "No product has this SKU.",
        "details": {"sku": "NOPE"},
    }


# --- restock ---


def sold(sku):
    """What was ever sold of a product: received − on hand."""
    product = Product.objects.get(sku=sku)
    return product.received - product.on_hand


def test_restock_grows_on_hand_and_received_together(operator, make_product):
    make_product(sku="MUG-1", on_hand=10)
    sold_order, held_order = uuid.uuid4(), uuid.uuid4()
    services.reservation_create(order_id=sold_order, items=[("MUG-1", 4)])
    services.reservation_commit(order_id=sold_order)
    services.reservation_create(order_id=held_order, items=[("MUG-1", 1)])

    r = operator.post("/api/v1/products/MUG-1/restock", {"quantity": 5})

    assert r.status_code == 200
    assert {k: r.json()[k] for k in ("on_hand", "reserved", "available", "received")} == {
        "on_hand": 11,
        "reserved": 1,
        "available": 10,
        "received": 15,
    }
    assert sold("MUG-1") == 4


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"quantity": 0},
        {"quantity": -1},
        {"quantity": "5"},
        {"quantity": 1.5},
        {"quantity": True},
        {"quantity": None},
        {"quantity": 1_000_000_001},
    ],
)
def test_restock_with_a_bad_quantity_is_400_and_changes_nothing(operator, make_product, body):
    make_product(sku="MUG-1", on_hand=10)
    r = operator.post("/api/v1/products/MUG-1/restock", body)
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert "quantity" in r.json()["details"]
    product = Product.objects.get(sku="MUG-1")
    assert (product.on_hand, product.received) == (10, 10)


def test_restock_of_an_unknown_product_is_404(operator):
    r = operator.post("/api/v1/products/NOPE/restock", {"quantity": 1})
    assert r.status_code == 404
    assert r.json() == {
        "code": "product_not_found",
        "message": "No product has this SKU.",
        "details": {"sku": "NOPE"},
    }
    assert not Product.objects.exists()


def test_restock_stops_at_the_stock_limit(operator, make_product):
    make_product(sku="MUG-1", on_hand=services.STOCK_LIMIT - 3)
    over = operator.post("/api/v1/products/MUG-1/restock", {"quantity": 4})
    assert over.status_code == 422
    assert over.json()["code"] == "stock_limit"
    assert over.json()["details"] == {
        "sku": "MUG-1",
        "received": services.STOCK_LIMIT - 3,
        "limit": services.STOCK_LIMIT,
    }
    assert Product.objects.get(sku="MUG-1").on_hand == services.STOCK_LIMIT - 3

    exactly = operator.post("/api/v1/products/MUG-1/restock", {"quantity": 3})
    assert exactly.status_code == 200
    assert exactly.json()["received"] == services.STOCK_LIMIT

import pytest

pytestmark = pytest.mark.django_db


def test_create_and_read_product(api):
    r = api.post("/api/v1/products", {"sku": "MUG-1", "name": "Mug", "price_cents": 1299, "on_hand": 7})
    assert r.status_code == 201
    got = api.get("/api/v1/products/MUG-1")
    assert got.status_code == 200
    assert got.json() == {
        "sku": "MUG-1", "name": "Mug", "price_cents": 1299, "currency": "USD",
        "on_hand": 7, "reserved": 0, "available": 7, "received": 7,
    }
    assert [p["sku"] for p in api.get("/api/v1/products").json()["results"]] == ["MUG-1"]


def test_duplicate_sku_is_409(api, make_product):
    make_product(sku="MUG-1")
    r = api.post("/api/v1/products", {"sku": "MUG-1", "name": "Mug", "price_cents": 1, "on_hand": 1})
    assert r.status_code == 409 and r.json()["code"] == "product_exists"


def test_unknown_product_is_404_in_error_shape(api):
    r = api.get("/api/v1/products/NOPE")
    assert r.status_code == 404
    assert r.json() == {"code": "product_not_found", "message": "No product has this SKU.", "details": {"sku": "NOPE"}}

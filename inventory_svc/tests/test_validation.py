"""Bad input gets the error shape with a 4xx, never a 500, and never leaves a row behind."""

import uuid

import pytest
from inventory.models import Product, Reservation

from chassis.idempotency.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

ORDER = str(uuid.uuid4())


def items(n, qty=1):
    return [{"sku": f"S{i}", "quantity": qty} for i in range(n)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": [{"sku": "A", "quantity": 1}]}, "order_id"),
        ({"order_id": "not-a-uuid", "items": [{"sku": "A", "quantity": 1}]}, "order_id"),
        ({"order_id": ORDER}, "items"),
        ({"order_id": ORDER, "items": []}, "items"),
        ({"order_id": ORDER, "items": items(51)}, "items"),
        ({"order_id": ORDER, "items": "A"}, "items"),
        ({"order_id": ORDER, "items": [{"sku": "A", "quantity": 0}]}, "items"),
        ({"order_id": ORDER, "items": [{"sku": "A", "quantity": -3}]}, "items"),
        ({"order_id": ORDER, "items": [{"sku": "A", "quantity": "2"}]}, "items"),
        ({"order_id": ORDER, "items": [{"sku": "A", "quantity": 1.5}]}, "items"),
        ({"order_id": ORDER, "items": [{"sku": "A", "quantity": True}]}, "items"),
        ({"order_id": ORDER, "items": [{"sku": "", "quantity": 1}]}, "items"),
        ({"order_id": ORDER, "items": [{"quantity": 1}]}, "items"),
    ],
)
def test_invalid_reservation_bodies(saga, make_product, body, field):
    make_product(sku="A", on_hand=5)
    r = saga.post("/internal/v1/reservations", body)
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "validation_error"
    assert field in r.json()["details"]
    assert not Reservation.objects.exists()
    assert Product.objects.get(sku="A").reserved == 0


def test_a_repeated_sku_is_422_and_reserves_nothing(saga, make_product):
    make_product(sku="A", on_hand=5)
    body = {"order_id": ORDER, "items": [{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2}]}
    r = saga.post("/internal/v1/reservations", body)
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "sku_repeated"
    assert r.json()["details"] == {"skus": ["A"]}
    assert not Reservation.objects.exists()
    assert Product.objects.get(sku="A").reserved == 0


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "A", "name": "x", "price_cents": -1, "on_hand": 1},
        {"sku": "A", "name": "x", "price_cents": "10", "on_hand": 1},
        {"sku": "A", "name": 5, "price_cents": 10, "on_hand": 1},
        {"sku": "A b", "name": "x", "price_cents": 10, "on_hand": 1},
        {"sku": "A", "name": "x", "price_cents": 10, "on_hand": 1, "currency": "usd"},
        {"sku": "A", "name": "x", "price_cents": 10},
    ],
)
def test_invalid_product_bodies(operator, body):
    r = operator.post("/api/v1/products", body)
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert not Product.objects.exists()


@pytest.mark.parametrize("name", ["\x1e", "   ", " Widget "])
def test_a_name_the_schema_allows_is_kept_as_sent_never_refused_as_blank(operator, name):
    """The schema allows any name of 1 to 200 characters without a NUL: one that is only whitespace
    (a record separator, say) is taken, and no name is trimmed."""
    r = operator.post("/api/v1/products", {"sku": "A", "name": name, "price_cents": 10, "on_hand": 1})
    assert r.status_code == 201, r.json()
    assert Product.objects.get(sku="A").name == name


@pytest.mark.parametrize("name", ["", "x\x00y", "x" * 201])
def test_a_name_the_schema_refuses_is_400(operator, name):
    r = operator.post("/api/v1/products", {"sku": "A", "name": name, "price_cents": 10, "on_hand": 1})
    assert r.status_code == 400
    assert r.json()["details"].keys() == {"name"}
    assert not Product.objects.exists()


def test_malformed_json_is_400(saga):
    r = saga.post("/internal/v1/reservations", raw=b'{"order_id": ')
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_json"
    assert not IdempotencyRecord.objects.filter(state="IN_FLIGHT").exists()


def test_json_that_is_not_an_object_is_400(saga):
    r = saga.post("/internal/v1/reservations", raw=b"[1, 2]")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"


def test_oversized_body_is_413(saga):
    r = saga.post("/internal/v1/reservations", raw=b'{"pad": "' + b"x" * 70_000 + b'"}')
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"


def test_wrong_content_type_is_415(operator):
    r = operator.client.generic(
        "POST",
        "/api/v1/products",
        "sku=A",
        content_type="application/x-www-form-urlencoded",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert r.status_code == 415
    assert r.json()["code"] == "unsupported_media_type"


def test_malformed_order_id_in_path_is_404_in_error_shape(saga):
    r = saga.post("/internal/v1/reservations/not-a-uuid/release")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_unknown_url_and_wrong_method(operator):
    assert operator.get("/api/v1/nothing-here").json()["code"] == "not_found"
    r = operator.client.delete("/api/v1/products/A")
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"


def test_health_endpoints(anonymous):
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"

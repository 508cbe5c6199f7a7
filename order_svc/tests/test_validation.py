"""Bad input to order_svc gets the error shape with a 4xx, never a 500, and stores nothing."""

import uuid

import pytest
from orders.models import Order, OrderLine, OutboxRecord

pytestmark = pytest.mark.django_db


def lines(n):
    return [{"sku": f"S{i}", "quantity": 1} for i in range(n)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_id": "", "items": lines(1)}, "customer_id"),
        ({"customer_id": 42, "items": lines(1)}, "customer_id"),
        ({"customer_id": "x" * 65, "items": lines(1)}, "customer_id"),
        ({"customer_id": "alice"}, "items"),
        ({"customer_id": "alice", "items": []}, "items"),
        ({"customer_id": "alice", "items": lines(51)}, "items"),
        ({"customer_id": "alice", "items": {"sku": "A"}}, "items"),
        ({"customer_id": "alice", "items": [{"sku": "A", "quantity": 0}]}, "items"),
        ({"customer_id": "alice", "items": [{"sku": "A", "quantity": -1}]}, "items"),
        ({"customer_id": "alice", "items": [{"sku": "A", "quantity": "1"}]}, "items"),
        ({"customer_id": "alice", "items": [{"sku": "A", "quantity": 2.0}]}, "items"),
        ({"customer_id": "alice", "items": [{"sku": "A", "quantity": None}]}, "items"),
        ({"customer_id": "alice", "items": [{"sku": 7, "quantity": 1}]}, "items"),
        ({"customer_id": "alice", "items": [{"sku": "A/../B", "quantity": 1}]}, "items"),
    ],
)
def test_invalid_orders_are_400_and_store_nothing(customer, sagas, body, field):
    r = customer("alice").post("/api/v1/orders", body)
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "validation_error"
    assert field in r.json()["details"]
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert not OutboxRecord.objects.exists()
    assert sagas.calls == []


def test_a_repeated_sku_is_422_and_stores_nothing(customer, sagas):
    """Two well-formed lines of one SKU: the schema allows the body, the rule of one line per SKU
    refuses it."""
    body = {"customer_id": "alice", "items": [{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 1}]}
    r = customer("alice").post("/api/v1/orders", body)
    assert r.status_code == 422, r.content
    assert r.json() == {
        "code": "sku_repeated",
        "message": "Each SKU may appear in one line only.",
        "details": {"skus": ["A"]},
    }
    assert not Order.objects.exists()
    assert sagas.calls == []


def test_fifty_lines_is_fine(customer):
    assert (
        customer("alice").post("/api/v1/orders", {"customer_id": "alice", "items": lines(50)}).status_code
        == 202
    )


@pytest.mark.parametrize(
    ("raw", "code"), [(b"{", "malformed_json"), (b"null", "validation_error"), (b'"x"', "validation_error")]
)
def test_malformed_bodies(customer, raw, code):
    r = customer("alice").post("/api/v1/orders", raw=raw)
    assert r.status_code == 400
    assert r.json()["code"] == code
    assert not Order.objects.exists()


def test_oversized_body_is_413(customer):
    r = customer("alice").post("/api/v1/orders", raw=b'{"customer_id": "' + b"a" * 100_000 + b'"}')
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"


def test_missing_idempotency_key_is_400(customer):
    r = customer("alice").post("/api/v1/orders", {"customer_id": "alice", "items": lines(1)}, key="")
    assert r.status_code == 400
    assert r.json()["code"] == "idempotency_key_missing"
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "bored"},
        {},
        {"reason": "timed_out", "lines": [{"sku": "A", "quantity": 1, "unit_price_cents": 5}]},
        {"reason": "timed_out", "total_cents": 5},
    ],
)
def test_invalid_cancel_reports_are_400(customer, saga, body):
    order_id = (
        customer("alice").post("/api/v1/orders", {"customer_id": "alice", "items": lines(1)}).json()["id"]
    )
    r = saga.post(f"/internal/v1/orders/{order_id}/cancel", body)
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert Order.objects.get(id=order_id).status == "PENDING"


def test_confirm_without_lines_is_400(saga):
    r = saga.post(f"/internal/v1/orders/{uuid.uuid4()}/confirm", {"total_cents": 5})
    assert r.status_code == 400
    assert set(r.json()["details"]) == {"lines"}

"""Fault injection is wired into order_svc next to its own internal/v1/ routes (chassis suite: inventory_svc)."""

import pytest
from orders.models import Order

pytestmark = pytest.mark.django_db

FAULTS = "/api/v1/faults"
BODY = {"customer_id": "alice", "items": [{"sku": "MUG", "quantity": 1}]}


def test_fault_endpoint_is_404_unless_chaos_is_enabled(operator, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.CHAOS_ENABLED = False
    off = operator.get(FAULTS)
    assert off.status_code == 404
    assert off.json()["code"] == "not_found"

    settings.CHAOS_ENABLED = True
    on = operator.get(FAULTS)
    assert on.status_code == 200
    assert on.json()["injected"] == {"error": 0, "lost_ack": 0, "latency": 0}


def test_internal_order_routes_can_be_faulted_and_work_again_after_delete(
    customer, operator, saga, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    settings.CHAOS_ENABLED = True
    order_id = customer("alice").post("/api/v1/orders", BODY).json()["id"]
    confirm = f"/internal/v1/orders/{order_id}/confirm"
    body = {
        "lines": [{"sku": "MUG", "quantity": 1, "unit_price_cents": 500}],
        "total_cents": 500,
        "currency": "USD",
    }

    assert operator.put(FAULTS, {"error_rate": 1.0, "paths": ["/internal/v1/orders/"]}).status_code == 200
    faulted = saga.post(confirm, body, key="confirm-1")
    assert faulted.status_code == 503
    assert faulted.json()["code"] == "fault_injected"
    assert Order.objects.get(id=order_id).status == "PENDING"

    assert operator.delete(FAULTS).status_code == 204
    assert saga.post(confirm, body, key="confirm-1").status_code == 200
    assert Order.objects.get(id=order_id).status == "CONFIRMED"

"""Fault injection is wired into payment_svc (the chassis' own suite is in inventory_svc)."""

import uuid

import pytest
from payments.models import Payment

pytestmark = pytest.mark.django_db

FAULTS = "/api/v1/faults"


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


def test_faults_hit_payments_and_spare_other_paths(operator, saga, settings, tmp_path, make_account):
    settings.VAR_DIR = tmp_path
    settings.CHAOS_ENABLED = True
    make_account(customer_id="alice")
    assert operator.put(FAULTS, {"error_rate": 1.0, "paths": ["/internal/v1/payments/"]}).status_code == 200

    body = {"order_id": str(uuid.uuid4()), "customer_id": "alice", "amount_cents": 100, "currency": "USD"}
    r = saga.post("/internal/v1/payments/authorize", body)
    assert r.status_code == 503
    assert r.json()["code"] == "fault_injected"
    assert not Payment.objects.exists()
    assert operator.get("/api/v1/accounts/alice").status_code == 200
    assert operator.get(FAULTS).json()["injected"]["error"] == 1

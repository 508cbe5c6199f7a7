"""The chassis' Idempotency-Key contract, exercised through the inventory's endpoints."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chassis.idempotency import decorators
from chassis.idempotency.models import IdempotencyRecord
from inventory import services
from inventory.models import Product

pytestmark = pytest.mark.django_db

PRODUCT = {"sku": "A", "name": "Widget", "price_cents": 100, "on_hand": 3}


def test_missing_key_is_400_and_nothing_happens(api):
    r = api.post("/api/v1/products", PRODUCT, key="")
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_missing"
    assert not Product.objects.exists()


@pytest.mark.parametrize("key", ["x" * 256, "tab\tinside", "ünïcode"])
def test_malformed_key_is_400(api, key):
    r = api.client.post("/api/v1/products", PRODUCT, format="json", headers={"Idempotency-Key": key})
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_invalid"
    assert not Product.objects.exists()


def test_same_key_same_body_replays_byte_for_byte_without_second_effect(api):
    first = api.post("/api/v1/products", PRODUCT, key="k-1")
    again = api.post("/api/v1/products", {**PRODUCT}, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Product.objects.count() == 1


def test_key_order_and_spacing_of_json_do_not_matter(api):
    api.post("/api/v1/products", PRODUCT, key="k-1")
    reordered = b'{"on_hand": 3, "price_cents": 100,   "name": "Widget", "sku": "A"}'
    again = api.post("/api/v1/products", raw=reordered, key="k-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"


def test_business_errors_are_stored_and_replayed(api, make_product):
    make_product(sku="A", on_hand=1)
    body = {"order_id": str(uuid.uuid4()), "items": [{"sku": "A", "quantity": 2}]}
    first = api.post("/api/v1/reservations", body, key="r-1")
    Product.objects.filter(sku="A").update(on_hand=10)
    again = api.post("/api/v1/reservations", body, key="r-1")
    assert first.status_code == again.status_code == 409
    assert again.content == first.content


def test_same_key_other_body_is_422(api):
    api.post("/api/v1/products", PRODUCT, key="k-1")
    r = api.post("/api/v1/products", {**PRODUCT, "on_hand": 4}, key="k-1")
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert Product.objects.get(sku="A").on_hand == 3


def test_same_key_while_first_is_running_is_409(api):
    from chassis.idempotency.services import request_fingerprint

    body = json.dumps(PRODUCT).encode()
    IdempotencyRecord.objects.create(scope="POST /api/v1/products", key="k-1", fingerprint=request_fingerprint(body))
    r = api.post("/api/v1/products", raw=body, key="k-1")
    assert r.status_code == 409 and r.json()["code"] == "idempotency_in_flight"
    assert not Product.objects.exists()


def test_abandoned_claim_is_taken_over_after_its_lease(api, settings):
    from chassis.idempotency.services import request_fingerprint

    body = json.dumps(PRODUCT).encode()
    record = IdempotencyRecord.objects.create(
        scope="POST /api/v1/products", key="k-1", fingerprint=request_fingerprint(body)
    )
    stale = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)
    IdempotencyRecord.objects.filter(pk=record.pk).update(updated_at=stale)
    r = api.post("/api/v1/products", raw=body, key="k-1")
    assert r.status_code == 201
    assert Product.objects.count() == 1


def test_keys_are_scoped_per_endpoint(api, make_product):
    make_product(sku="B", on_hand=5)
    order_id = str(uuid.uuid4())
    reserve = api.post("/api/v1/reservations", {"order_id": order_id, "items": [{"sku": "B", "quantity": 1}]}, key="same")
    release = api.post(f"/api/v1/reservations/{order_id}/release", key="same")
    assert reserve.status_code == 201 and release.status_code == 200
    assert release.json()["status"] == "RELEASED"


def test_a_5xx_is_not_stored_and_a_retry_runs_afresh(api, monkeypatch):
    real = services.product_create

    def broken(**kwargs):
        real(**kwargs)
        raise RuntimeError("crash after the effect")

    monkeypatch.setattr(services, "product_create", broken)
    failed = api.post("/api/v1/products", PRODUCT, key="k-1")
    assert failed.status_code == 500 and failed.json()["code"] == "internal_error"
    assert not Product.objects.exists(), "the effect rolled back with the failed request"
    assert not IdempotencyRecord.objects.exists()

    monkeypatch.setattr(services, "product_create", real)
    retried = api.post("/api/v1/products", PRODUCT, key="k-1")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert Product.objects.count() == 1


def test_effect_and_stored_answer_commit_together(api, monkeypatch):
    def fail_to_store(**kwargs):
        raise RuntimeError("storing the answer failed")

    monkeypatch.setattr(decorators, "idempotency_complete", fail_to_store)
    with pytest.raises(RuntimeError):
        api.post("/api/v1/products", PRODUCT, key="k-1")
    assert not Product.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_a_body_cut_short_is_refused_without_storing_the_key(api):
    """A client killed mid-request: its retry with the same key and the whole body must go through."""
    import io

    whole = json.dumps(PRODUCT).encode()
    cut = api.client.generic(
        "POST", "/api/v1/products", b"", content_type="application/json",
        headers={"Idempotency-Key": "k-1"}, CONTENT_LENGTH=str(len(whole)), **{"wsgi.input": io.BytesIO(whole[:7])},
    )
    assert cut.status_code == 400 and cut.json()["code"] == "incomplete_body"
    assert not IdempotencyRecord.objects.exists() and not Product.objects.exists()

    retried = api.post("/api/v1/products", raw=whole, key="k-1")
    assert retried.status_code == 201 and Product.objects.count() == 1


def test_json_nested_too_deeply_is_400_not_500(api):
    r = api.post("/api/v1/products", raw=b"[" * 20_000 + b"]" * 20_000)
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    assert not Product.objects.exists()

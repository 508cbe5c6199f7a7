"""The chassis' Idempotency-Key contract, exercised through the inventory's endpoints."""

import json
import uuid

import pytest
from inventory import services
from inventory.models import Product, Reservation

from chassis.idempotency import decorators
from chassis.idempotency.models import IdempotencyRecord
from chassis.testing import ApiClient

pytestmark = pytest.mark.django_db

PRODUCT = {"sku": "A", "name": "Widget", "price_cents": 100, "on_hand": 3}
OPERATOR = "operator:operator"
"""The principal key of the `operator` fixture's token, which its idempotency records carry."""


def test_missing_key_is_400_and_nothing_happens(operator):
    r = operator.post("/api/v1/products", PRODUCT, key="")
    assert r.status_code == 400
    assert r.json()["code"] == "idempotency_key_missing"
    assert not Product.objects.exists()


@pytest.mark.parametrize("key", ["x" * 256, "tab\tinside", "ünïcode"])
def test_malformed_key_is_400(operator, key):
    r = operator.client.post("/api/v1/products", PRODUCT, format="json", headers={"Idempotency-Key": key})
    assert r.status_code == 400
    assert r.json()["code"] == "idempotency_key_invalid"
    assert not Product.objects.exists()


def test_same_key_same_body_replays_byte_for_byte_without_second_effect(operator):
    first = operator.post("/api/v1/products", PRODUCT, key="k-1")
    again = operator.post("/api/v1/products", {**PRODUCT}, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Product.objects.count() == 1


def test_key_order_and_spacing_of_json_do_not_matter(operator):
    operator.post("/api/v1/products", PRODUCT, key="k-1")
    reordered = b'{"on_hand": 3, "price_cents": 100,   "name": "Widget", "sku": "A"}'
    again = operator.post("/api/v1/products", raw=reordered, key="k-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"


def test_business_errors_are_stored_and_replayed(saga, make_product):
    make_product(sku="A", on_hand=1)
    body = {"order_id": str(uuid.uuid4()), "items": [{"sku": "A", "quantity": 2}]}
    first = saga.post("/internal/v1/reservations", body, key="r-1")
    Product.objects.filter(sku="A").update(on_hand=10)
    again = saga.post("/internal/v1/reservations", body, key="r-1")
    assert first.status_code == again.status_code == 409
    assert again.content == first.content


def test_same_key_other_body_is_422(operator):
    operator.post("/api/v1/products", PRODUCT, key="k-1")
    r = operator.post("/api/v1/products", {**PRODUCT, "on_hand": 4}, key="k-1")
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    assert Product.objects.get(sku="A").on_hand == 3


def _lookup_misses_once(monkeypatch) -> None:
    """The next request's look-up of its key finds nothing, as when a concurrent duplicate commits
    between that look-up and this request's INSERT of the key (which PostgreSQL allows)."""
    real = decorators.idempotency_lookup
    misses = [None]
    monkeypatch.setattr(
        decorators, "idempotency_lookup", lambda **keyed: misses.pop() if misses else real(**keyed)
    )


def test_a_duplicate_beaten_to_the_store_rolls_its_effect_back_and_replays_the_answer(
    operator, make_product, monkeypatch
):
    make_product(sku="A", on_hand=10)
    first = operator.post("/api/v1/products/A/restock", {"quantity": 5}, key="k-1")
    _lookup_misses_once(monkeypatch)

    again = operator.post("/api/v1/products/A/restock", {"quantity": 5}, key="k-1")

    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Product.objects.get(sku="A").on_hand == 15
    assert IdempotencyRecord.objects.count() == 1


def test_a_duplicate_with_another_body_beaten_to_the_store_is_422_without_effect(
    operator, make_product, monkeypatch
):
    make_product(sku="A", on_hand=10)
    operator.post("/api/v1/products/A/restock", {"quantity": 5}, key="k-1")
    _lookup_misses_once(monkeypatch)

    r = operator.post("/api/v1/products/A/restock", {"quantity": 7}, key="k-1")

    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    assert Product.objects.get(sku="A").on_hand == 15


def test_keys_are_scoped_per_endpoint(saga, make_product):
    make_product(sku="B", on_hand=5)
    order_id = str(uuid.uuid4())
    reserve = saga.post(
        "/internal/v1/reservations",
        {"order_id": order_id, "items": [{"sku": "B", "quantity": 1}]},
        key="same",
    )
    release = saga.post(f"/internal/v1/reservations/{order_id}/release", key="same")
    assert reserve.status_code == 201
    assert release.status_code == 200
    assert release.json()["status"] == "RELEASED"


def test_a_5xx_is_not_stored_and_a_retry_runs_afresh(operator, monkeypatch):
    real = services.product_create

    def broken(**kwargs):
        real(**kwargs)
        raise RuntimeError("crash after the effect")

    monkeypatch.setattr(services, "product_create", broken)
    failed = operator.post("/api/v1/products", PRODUCT, key="k-1")
    assert failed.status_code == 500
    assert failed.json()["code"] == "internal_error"
    assert not Product.objects.exists(), "the effect rolled back with the failed request"
    assert not IdempotencyRecord.objects.exists()

    monkeypatch.setattr(services, "product_create", real)
    retried = operator.post("/api/v1/products", PRODUCT, key="k-1")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Product.objects.count() == 1


def test_effect_and_stored_answer_commit_together(operator, monkeypatch):
    def fail_to_store(**kwargs):
        raise RuntimeError("storing the answer failed")

    monkeypatch.setattr(decorators, "idempotency_store", fail_to_store)
    failed = operator.post("/api/v1/products", PRODUCT, key="k-1")
    assert failed.status_code == 500
    assert failed.json()["code"] == "internal_error"
    assert not Product.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_a_body_cut_short_is_refused_without_storing_the_key(operator):
    """A client killed mid-request: its retry with the same key and the whole body must go through."""
    import io

    whole = json.dumps(PRODUCT).encode()
    cut = operator.client.generic(
        "POST",
        "/api/v1/products",
        b"",
        content_type="application/json",
        headers={"Idempotency-Key": "k-1"},
        CONTENT_LENGTH=str(len(whole)),
        **{"wsgi.input": io.BytesIO(whole[:7])},
    )
    assert cut.status_code == 400
    assert cut.json()["code"] == "incomplete_body"
    assert not IdempotencyRecord.objects.exists()
    assert not Product.objects.exists()

    retried = operator.post("/api/v1/products", raw=whole, key="k-1")
    assert retried.status_code == 201
    assert Product.objects.count() == 1


def test_json_nested_too_deeply_is_400_not_500(operator):
    r = operator.post("/api/v1/products", raw=b"[" * 20_000 + b"]" * 20_000)
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_json"
    assert not Product.objects.exists()


# --- keys belong to their caller ---


@pytest.fixture
def another_operator(local_keys):
    """A second operator: a principal of its own (operator:ops-2)."""
    return ApiClient(local_keys.operator_token(subject="ops-2"))


def restock(client, key, quantity=5):
    return client.post("/api/v1/products/A/restock", {"quantity": quantity}, key=key)


def test_the_same_key_and_body_from_two_callers_runs_twice(operator, another_operator, make_product):
    make_product(sku="A", on_hand=10)
    mine, theirs = restock(operator, "k-1"), restock(another_operator, "k-1")
    assert mine.status_code == theirs.status_code == 200
    assert "Idempotent-Replayed" not in mine
    assert "Idempotent-Replayed" not in theirs
    assert (mine.json()["on_hand"], theirs.json()["on_hand"]) == (15, 20)
    assert sorted(IdempotencyRecord.objects.values_list("principal", flat=True)) == [
        OPERATOR,
        "operator:ops-2",
    ]


def test_the_same_key_with_another_body_from_another_caller_is_no_conflict(operator, another_operator):
    mine = operator.post("/api/v1/products", PRODUCT, key="k-1")
    theirs = another_operator.post("/api/v1/products", {**PRODUCT, "sku": "B"}, key="k-1")
    assert mine.status_code == theirs.status_code == 201
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["A", "B"]


def test_a_stored_answer_is_replayed_only_to_the_caller_it_was_given_to(
    operator, another_operator, make_product
):
    make_product(sku="A", on_hand=10)
    mine = restock(operator, "k-1")
    theirs = restock(another_operator, "k-1")
    mine_again, theirs_again = restock(operator, "k-1"), restock(another_operator, "k-1")

    assert theirs.content != mine.content
    assert mine_again["Idempotent-Replayed"] == "true"
    assert mine_again.content == mine.content
    assert theirs_again["Idempotent-Replayed"] == "true"
    assert theirs_again.content == theirs.content
    assert Product.objects.get(sku="A").on_hand == 20


REFUSED_CALLERS = {
    "anonymous": lambda keys: ApiClient(),
    "a forged token": lambda keys: ApiClient(keys.operator_token() + "x"),
    "a customer": lambda keys: ApiClient(keys.customer_token("alice")),
    "the saga": lambda keys: ApiClient(keys.saga_token()),
    "an operator": lambda keys: ApiClient(keys.operator_token()),
}


@pytest.mark.parametrize(
    ("caller", "path", "status"),
    [
        ("anonymous", "/api/v1/products", 401),
        ("a forged token", "/api/v1/products", 401),
        ("a customer", "/api/v1/products", 403),
        ("the saga", "/api/v1/products", 403),
        ("an operator", "/internal/v1/reservations", 403),
        ("a customer", "/internal/v1/reservations", 403),
    ],
)
def test_a_refused_caller_stores_no_key_and_no_effect(local_keys, make_product, caller, path, status):
    """Authentication and permissions run before the key is claimed."""
    make_product(sku="B", on_hand=5)
    reserve = {"order_id": str(uuid.uuid4()), "items": [{"sku": "B", "quantity": 1}]}
    body = PRODUCT if path == "/api/v1/products" else reserve

    r = REFUSED_CALLERS[caller](local_keys).post(path, body, key="k-1")

    assert r.status_code == status
    assert not IdempotencyRecord.objects.exists()
    assert not Product.objects.filter(sku="A").exists()
    assert not Reservation.objects.exists()

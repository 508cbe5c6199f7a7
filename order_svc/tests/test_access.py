"""Who may call what on order_svc: a customer places orders for itself, reads its own, cancels them and
watches their saga; an operator places orders for the customer it names, reads, cancels and watches
every order; the saga alone reads an order by id, reports it confirmed or cancelled and purges expired
idempotency records; the auditor reads every order and nothing else; nobody gets in without a token.
A refused call (401 or 403) answers in the error shape, stores nothing and never reaches Temporal."""

import uuid
from pathlib import Path

import pytest
from orders.models import Order, OrderLine, OutboxRecord

from chassis.faults import fault_store
from chassis.idempotency.models import IdempotencyRecord
from chassis.testing import (
    Endpoint,
    access_cases,
    assert_error,
    assert_refused,
    manage_py,
    production_environment,
)
from tests.factories import order_create

SERVICE_DIR = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.django_db

PENDING = uuid.UUID("00000000-0000-4000-8000-000000000001")
"""Alice's order every test starts with, one MUG, waiting for its saga."""
PRICED = {
    "lines": [{"sku": "MUG", "quantity": 1, "unit_price_cents": 500}],
    "total_cents": 500,
    "currency": "USD",
}

OPERATOR, SAGA = frozenset({"operator"}), frozenset({"saga"})
READERS = frozenset({"customer", "operator"})
AUDITED = READERS | {"auditor"}
"""The reads the scheduled audit makes: the auditor may make them, and nothing else."""
ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/v1/orders",
        READERS,
        202,
        {"customer_id": "alice", "items": [{"sku": "TEA", "quantity": 1}]},
    ),
    Endpoint("GET", "/api/v1/orders", AUDITED, 200),
    Endpoint("GET", f"/api/v1/orders/{PENDING}", AUDITED, 200),
    Endpoint("POST", f"/api/v1/orders/{PENDING}/cancel", READERS, 202, {}),
    Endpoint("GET", f"/api/v1/orders/{PENDING}/saga", READERS, 200),
    Endpoint("GET", "/api/v1/operations/breakers", OPERATOR, 200),
    Endpoint("GET", "/api/v1/operations/audit", OPERATOR, 200),
    Endpoint("POST", f"/internal/v1/orders/{PENDING}/confirm", SAGA, 200, PRICED),
    Endpoint("POST", f"/internal/v1/orders/{PENDING}/cancel", SAGA, 200, {"reason": "out_of_stock"}),
    Endpoint("POST", "/internal/v1/idempotency-records/purge", SAGA, 200, {}),
    Endpoint("GET", "/api/v1/faults", OPERATOR, 200),
    Endpoint("PUT", "/api/v1/faults", OPERATOR, 200, {"latency_ms": [0, 1], "paths": ["/nowhere"]}),
    Endpoint("DELETE", "/api/v1/faults", OPERATOR, 204),
]
RIGHT_CALLERS, WRONG_CALLERS = access_cases(ENDPOINTS)


@pytest.fixture(autouse=True)
def pending_order(settings, tmp_path):
    """Alice's PENDING order, fault injection switched on (configured to inject nothing) so that its
    endpoint exists, and no worker to read breakers from."""
    settings.CHAOS_ENABLED = True
    settings.VAR_DIR = tmp_path
    settings.ORDER_WORKER_METRICS_URLS = []
    order_create(id=PENDING, customer_id="alice", items=(("MUG", 1),))


def state(sagas) -> tuple:
    """Everything a call could change: orders, their lines, outbox records, stored keys, calls to
    Temporal, the fault file."""
    return (
        list(Order.objects.values_list("id", "customer_id", "status", "total_cents")),
        list(OrderLine.objects.values_list("order_id", "sku", "quantity", "unit_price_cents")),
        list(OutboxRecord.objects.values_list("order_id", "started_at", "attempts")),
        IdempotencyRecord.objects.count(),
        list(sagas.calls),
        fault_store().snapshot(),
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_without_a_token_every_endpoint_is_401_and_changes_nothing(anonymous, sagas, endpoint):
    assert_refused(lambda: endpoint.call(anonymous), 401, "not_authenticated", state=lambda: state(sagas))


@pytest.mark.parametrize(("endpoint", "kind"), WRONG_CALLERS)
def test_the_wrong_kind_of_caller_is_403_and_changes_nothing(callers, sagas, endpoint, kind):
    assert_refused(lambda: endpoint.call(callers[kind]), 403, "permission_denied", state=lambda: state(sagas))


@pytest.mark.parametrize(("endpoint", "kind"), RIGHT_CALLERS)
def test_the_right_caller_gets_through(callers, endpoint, kind):
    r = endpoint.call(callers[kind])
    assert r.status_code == endpoint.success, r.content


# --- a customer's own orders ---


def test_an_order_without_customer_id_is_placed_for_the_tokens_customer(customer):
    r = customer("bob").post("/api/v1/orders", {"items": [{"sku": "TEA", "quantity": 1}]})
    assert r.status_code == 202
    assert r.json()["customer_id"] == "bob"
    assert Order.objects.get(id=r.json()["id"]).customer_id == "bob"
    assert OutboxRecord.objects.get(order_id=r.json()["id"]).payload["customer_id"] == "bob"


def test_placing_an_order_for_another_customer_is_403_stores_nothing_and_starts_no_saga(customer, sagas):
    r = customer("mallory").post(
        "/api/v1/orders", {"customer_id": "alice", "items": [{"sku": "TEA", "quantity": 1}]}
    )
    assert_error(r, 403, "customer_mismatch")
    assert list(Order.objects.values_list("id", flat=True)) == [PENDING]
    assert OrderLine.objects.count() == 1
    assert OutboxRecord.objects.count() == 1
    assert sagas.calls == []
    assert not IdempotencyRecord.objects.exists()  # a refusal claims no key


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"status": "CONFIRMED"}, "status"),
        ({"total_cents": 0}, "total_cents"),
        ({"items": [{"sku": "TEA", "quantity": 1, "unit_price_cents": 0}]}, "items"),
        ({"currency": "EUR"}, "currency"),
    ],
)
def test_fields_a_customer_may_not_set_are_400_and_store_nothing(customer, sagas, extra, field):
    r = customer("alice").post("/api/v1/orders", {"items": [{"sku": "TEA", "quantity": 1}], **extra})
    assert_error(r, 400, "validation_error")
    assert field in r.json()["details"]
    assert list(Order.objects.values_list("id", flat=True)) == [PENDING]
    assert OrderLine.objects.count() == 1
    assert OutboxRecord.objects.count() == 1
    assert sagas.calls == []


# --- an operator's orders, for the customer it names ---

TEA = [{"sku": "TEA", "quantity": 1}]


def test_an_operator_places_an_order_for_the_customer_it_names(operator, relay_once, sagas):
    r = operator.post("/api/v1/orders", {"customer_id": "carol", "items": TEA})

    assert r.status_code == 202, r.content
    order = Order.objects.get(id=r.json()["id"])
    assert (r.json()["customer_id"], order.customer_id, order.status) == ("carol", "carol", "PENDING")
    assert OutboxRecord.objects.get(order=order).payload["customer_id"] == "carol"
    relay_once()
    assert sagas.workflows[order.workflow_id].customer_id == "carol", "the saga charges carol"


def test_in_production_an_operator_places_no_order_for_a_customer(settings, operator, sagas):
    settings.ORDER_OPERATOR_ORDERS = False  # what DJANGO_ENV=production sets

    r = operator.post("/api/v1/orders", {"customer_id": "carol", "items": TEA})

    assert_error(r, 403, "operator_orders_off")
    assert list(Order.objects.values_list("id", flat=True)) == [PENDING]
    assert OutboxRecord.objects.count() == 1
    assert sagas.calls == []


@pytest.mark.parametrize(
    "body", [{"customer_id": None, "items": TEA}, {"customer_id": "", "items": TEA}], ids=["null", "empty"]
)
def test_an_operator_who_names_no_customer_is_400_and_nothing_is_stored(operator, sagas, body):
    r = operator.post("/api/v1/orders", body)

    assert_error(r, 400, "validation_error")
    assert list(r.json()["details"]) == ["customer_id"]
    assert list(Order.objects.values_list("id", flat=True)) == [PENDING]
    assert OutboxRecord.objects.count() == 1
    assert sagas.calls == []


def test_an_operator_who_leaves_the_customer_out_is_422_and_nothing_is_stored(operator, sagas):
    """The body is what the schema allows (a customer may leave `customer_id` out), so the refusal
    is the business rule's, not the body's."""
    r = operator.post("/api/v1/orders", {"items": TEA})

    assert_error(r, 422, "customer_required")
    assert list(Order.objects.values_list("id", flat=True)) == [PENDING]
    assert OutboxRecord.objects.count() == 1
    assert sagas.calls == []


@pytest.mark.parametrize("customer_id", ["not a customer id", "x" * 65, "alice/../bob", 42])
def test_an_operator_naming_a_malformed_customer_is_400(operator, customer_id):
    r = operator.post("/api/v1/orders", {"customer_id": customer_id, "items": TEA})
    assert_error(r, 400, "validation_error")
    assert "customer_id" in r.json()["details"]
    assert list(Order.objects.values_list("id", flat=True)) == [PENDING]


def test_an_operators_idempotency_keys_are_its_own(operator, customer):
    """Keys are scoped by caller: the operator's key replays the operator's answer, the same key with
    an order for another customer is another body (422), and alice's own key of the same name is
    hers alone."""
    first = operator.post("/api/v1/orders", {"customer_id": "alice", "items": TEA}, key="shared-key")
    again = operator.post("/api/v1/orders", {"customer_id": "alice", "items": TEA}, key="shared-key")
    for_bob = operator.post("/api/v1/orders", {"customer_id": "bob", "items": TEA}, key="shared-key")
    alices = customer("alice").post("/api/v1/orders", {"items": TEA}, key="shared-key")

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert_error(for_bob, 422, "idempotency_key_reused")
    assert alices.status_code == 202
    assert alices.json()["id"] != first.json()["id"]
    assert Order.objects.filter(customer_id="alice").count() == 3  # PENDING, the operator's, alice's


def test_an_operators_placements_do_not_use_up_the_customers_allowance(settings, operator, customer):
    settings.THROTTLE_RATES = {"requests": "100/min", "order_placements": "2/min"}
    settings.THROTTLE_OPERATORS = False
    assert {
        operator.post("/api/v1/orders", {"customer_id": "alice", "items": TEA}).status_code for _ in range(5)
    } == {202}
    alice = customer("alice")
    assert [alice.post("/api/v1/orders", {"items": TEA}).status_code for _ in range(3)] == [202, 202, 429]


def test_with_throttle_operators_an_operators_placements_count_against_its_own_allowance(
    settings, operator, customer
):
    settings.THROTTLE_RATES = {"requests": "100/min", "order_placements": "2/min"}
    settings.THROTTLE_OPERATORS = True
    placed = [
        operator.post("/api/v1/orders", {"customer_id": c, "items": TEA}).status_code for c in ("a", "b", "c")
    ]
    assert placed == [202, 202, 429], "one allowance for the operator, whoever it orders for"
    assert customer("a").post("/api/v1/orders", {"items": TEA}).status_code == 202


def test_a_customer_reads_its_own_order_and_not_another_customers(customer, operator):
    alice, bob = customer("alice"), customer("bob")
    assert alice.get(f"/api/v1/orders/{PENDING}").json()["id"] == str(PENDING)

    others = bob.get(f"/api/v1/orders/{PENDING}")
    missing = bob.get(f"/api/v1/orders/{uuid.uuid4()}")
    assert_error(others, 404, "order_not_found")
    assert others.json()["message"] == missing.json()["message"], "just like an order that does not exist"
    assert operator.get(f"/api/v1/orders/{PENDING}").status_code == 200


@pytest.mark.parametrize("path", [f"/api/v1/orders/{PENDING}/cancel", f"/api/v1/orders/{PENDING}/saga"])
def test_another_customers_order_cannot_be_cancelled_or_watched_and_temporal_is_not_asked(
    customer, sagas, path
):
    bob = customer("bob")
    r = bob.post(path) if path.endswith("cancel") else bob.get(path)
    assert_error(r, 404, "order_not_found")
    assert sagas.calls == []


def test_a_customers_list_shows_its_own_orders_only_whatever_the_filter(customer, operator):
    bobs = customer("bob").post("/api/v1/orders", {"items": [{"sku": "TEA", "quantity": 1}]}).json()["id"]
    alice, bob = customer("alice"), customer("bob")

    assert [o["id"] for o in alice.get("/api/v1/orders").json()["results"]] == [str(PENDING)]
    assert [o["id"] for o in bob.get("/api/v1/orders").json()["results"]] == [bobs]
    named_other = alice.get("/api/v1/orders", {"customer_id": "bob"}).json()
    assert named_other["count"] == 0
    assert named_other["results"] == []
    assert operator.get("/api/v1/orders").json()["count"] == 2


def test_the_saga_reports_on_any_customers_order(saga):
    assert saga.post(f"/internal/v1/orders/{PENDING}/confirm", PRICED).status_code == 200
    assert Order.objects.get(id=PENDING).status == "CONFIRMED"


@pytest.mark.parametrize(("environment", "admitted"), [("production", False), ("development", True)])
def test_operators_order_for_customers_outside_production_only(tmp_path, environment, admitted):
    environ = production_environment() if environment == "production" else {"DJANGO_ENV": "development"}
    code = "from django.conf import settings; print(settings.ORDER_OPERATOR_ORDERS)"
    r = manage_py(SERVICE_DIR, "shell", "-c", code, environ=environ, var_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == str(admitted)

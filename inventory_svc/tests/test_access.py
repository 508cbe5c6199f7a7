"""Who may call what on inventory_svc: operators keep the catalog and read everything, the auditor reads
what the audit needs and nothing more, the saga alone reserves, releases, commits and purges expired
idempotency records, customers have nothing here, and nobody gets in without a token.
A refused call (401 or 403) answers in the error shape and changes nothing."""

import uuid

import pytest
from inventory import services
from inventory.models import Product, Reservation, ReservationEvent

from chassis.faults import fault_store
from chassis.idempotency.models import IdempotencyRecord
from chassis.testing import Endpoint, access_cases, assert_refused

pytestmark = pytest.mark.django_db

HELD = uuid.UUID("00000000-0000-4000-8000-000000000001")
"""The order whose reservation every test starts with."""


OPERATOR, SAGA = frozenset({"operator"}), frozenset({"saga"})
AUDITED = OPERATOR | {"auditor"}
"""The reads the scheduled audit makes: the auditor may make them, and nothing else."""
ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/v1/products",
        OPERATOR,
        201,
        {"sku": "NEW", "name": "New", "price_cents": 5, "on_hand": 1},
    ),
    Endpoint("GET", "/api/v1/products", AUDITED, 200),
    Endpoint("GET", "/api/v1/products/A", OPERATOR, 200),
    Endpoint("POST", "/api/v1/products/A/restock", OPERATOR, 200, {"quantity": 5}),
    Endpoint("GET", "/api/v1/reservations", AUDITED, 200),
    Endpoint("GET", f"/api/v1/reservations/{HELD}", OPERATOR, 200),
    Endpoint("GET", "/api/v1/reservation-events", AUDITED, 200),
    Endpoint(
        "POST",
        "/internal/v1/reservations",
        SAGA,
        201,
        {"order_id": str(uuid.UUID(int=2)), "items": [{"sku": "A", "quantity": 1}]},
    ),
    Endpoint("POST", f"/internal/v1/reservations/{HELD}/release", SAGA, 200),
    Endpoint("POST", f"/internal/v1/reservations/{HELD}/commit", SAGA, 200),
    Endpoint("POST", "/internal/v1/idempotency-records/purge", SAGA, 200, {}),
    Endpoint("GET", "/api/v1/faults", OPERATOR, 200),
    Endpoint("PUT", "/api/v1/faults", OPERATOR, 200, {"latency_ms": [0, 1], "paths": ["/nowhere"]}),
    Endpoint("DELETE", "/api/v1/faults", OPERATOR, 204),
]
RIGHT_CALLERS, WRONG_CALLERS = access_cases(ENDPOINTS)


@pytest.fixture(autouse=True)
def stock(settings, tmp_path, make_product):
    """Product A with stock, order HELD holding some, and fault injection switched on (configured to
    inject nothing) so that its endpoint exists."""
    settings.CHAOS_ENABLED = True
    settings.VAR_DIR = tmp_path
    make_product(sku="A", on_hand=10)
    services.reservation_create(order_id=HELD, items=[("A", 2)])


def state() -> tuple:
    """Everything a call could change: stock, reservations, their ledger, stored keys, the fault file."""
    return (
        list(Product.objects.values_list("sku", "on_hand", "reserved", "received")),
        list(Reservation.objects.values_list("order_id", "status")),
        ReservationEvent.objects.count(),
        IdempotencyRecord.objects.count(),
        fault_store().snapshot(),
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_without_a_token_every_endpoint_is_401_and_changes_nothing(anonymous, endpoint):
    assert_refused(lambda: endpoint.call(anonymous), 401, "not_authenticated", state=state)


@pytest.mark.parametrize(("endpoint", "kind"), WRONG_CALLERS)
def test_the_wrong_kind_of_caller_is_403_and_changes_nothing(callers, endpoint, kind):
    assert_refused(lambda: endpoint.call(callers[kind]), 403, "permission_denied", state=state)


@pytest.mark.parametrize(("endpoint", "kind"), RIGHT_CALLERS)
def test_the_right_caller_gets_through(callers, endpoint, kind):
    r = endpoint.call(callers[kind])
    assert r.status_code == endpoint.success, r.content


def test_health_probes_are_open_and_tell_nothing_about_a_broken_database(anonymous, monkeypatch):
    from django.db import DatabaseError, connection

    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/readyz").json() == {"status": "ok"}

    def broken():
        raise DatabaseError('could not connect to server at "db.internal" (10.1.2.3), port 5432')

    monkeypatch.setattr(connection, "cursor", broken)
    r = anonymous.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"code": "not_ready", "message": "The database is not reachable.", "details": {}}

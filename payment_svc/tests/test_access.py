"""Who may call what on payment_svc: operators open accounts, pay in deposits and read everything, a
customer reads its own account only, the auditor reads what the audit needs and nothing more, the saga
alone authorizes, voids, captures and purges expired idempotency records, and nobody gets in without a
token. A refused call (401 or 403) answers in the error shape and moves no money."""

import uuid

import pytest
from payments import services
from payments.models import Account, MerchantAccount, Payment, PaymentEvent

from chassis.faults import fault_store
from chassis.idempotency.models import IdempotencyRecord
from chassis.testing import Endpoint, access_cases, assert_error, assert_refused

pytestmark = pytest.mark.django_db

HELD = uuid.UUID("00000000-0000-4000-8000-000000000001")
"""The order whose payment every test starts with: 2500 cents held on alice's account."""


OPERATOR, SAGA = frozenset({"operator"}), frozenset({"saga"})
AUDITED = OPERATOR | {"auditor"}
"""The reads the scheduled audit makes: the auditor may make them, and nothing else."""
ENDPOINTS = [
    Endpoint("POST", "/api/v1/accounts", OPERATOR, 201, {"customer_id": "carol", "balance_cents": 100}),
    Endpoint("GET", "/api/v1/accounts", AUDITED, 200),
    Endpoint("GET", "/api/v1/accounts/alice", frozenset({"operator", "customer"}), 200),
    Endpoint("POST", "/api/v1/accounts/alice/deposits", OPERATOR, 200, {"amount_cents": 500}),
    Endpoint("GET", "/api/v1/merchant", AUDITED, 200),
    Endpoint("GET", "/api/v1/payments", AUDITED, 200),
    Endpoint("GET", "/api/v1/payment-events", AUDITED, 200),
    Endpoint(
        "POST",
        "/internal/v1/payments/authorize",
        SAGA,
        201,
        {"order_id": str(uuid.UUID(int=2)), "customer_id": "alice", "amount_cents": 100, "currency": "USD"},
    ),
    Endpoint("POST", "/internal/v1/payments/void", SAGA, 200, {"order_id": str(HELD)}),
    Endpoint("POST", "/internal/v1/payments/capture", SAGA, 200, {"order_id": str(HELD)}),
    Endpoint("POST", "/internal/v1/idempotency-records/purge", SAGA, 200, {}),
    Endpoint("GET", "/api/v1/faults", OPERATOR, 200),
    Endpoint("PUT", "/api/v1/faults", OPERATOR, 200, {"latency_ms": [0, 1], "paths": ["/nowhere"]}),
    Endpoint("DELETE", "/api/v1/faults", OPERATOR, 204),
]
RIGHT_CALLERS, WRONG_CALLERS = access_cases(ENDPOINTS)


@pytest.fixture(autouse=True)
def money(settings, tmp_path, make_account):
    """Alice's account with 2500 cents held for order HELD, and fault injection switched on
    (configured to inject nothing) so that its endpoint exists."""
    settings.CHAOS_ENABLED = True
    settings.VAR_DIR = tmp_path
    make_account(customer_id="alice", balance_cents=10_000)
    services.payment_authorize(order_id=HELD, customer_id="alice", amount_cents=2500, currency="USD")


def state() -> tuple:
    """Everything a call could change: accounts, the merchant, payments, their ledger, stored keys,
    the fault file."""
    return (
        list(Account.objects.values_list("customer_id", "balance_cents", "held_cents", "deposited_cents")),
        list(MerchantAccount.objects.values_list("balance_cents")),
        list(Payment.objects.values_list("order_id", "status")),
        PaymentEvent.objects.count(),
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


def test_a_customer_reads_its_own_account_and_no_one_elses(customer, make_account):
    make_account(customer_id="bob", balance_cents=700)
    bob = customer("bob")

    own = bob.get("/api/v1/accounts/bob")
    assert own.status_code == 200
    assert own.json()["balance_cents"] == 700

    others = bob.get("/api/v1/accounts/alice")
    missing = bob.get("/api/v1/accounts/nobody")
    assert_error(others, 404, "account_not_found")
    assert others.json()["message"] == missing.json()["message"], "just like an account that does not exist"
    assert b"10000" not in others.content
    assert b"7500" not in others.content

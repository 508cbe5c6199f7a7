"""Who may call what on identity_svc's API: operators create users; customers and operators read
their own account; the saga and the auditor have no business here, and nobody gets in without a
token. A refused call answers in the error shape and creates nothing."""

import pytest
from accounts.models import User

from chassis.events.models import OutboxEvent
from chassis.idempotency.models import IdempotencyRecord
from chassis.testing import Endpoint, access_cases, assert_refused
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/v1/users",
        frozenset({"operator"}),
        201,
        {"email": "carol@example.com", "password": PASSWORD},
    ),
    Endpoint("GET", "/api/v1/me", frozenset({"customer", "operator"}), 200),
]
RIGHT_CALLERS, WRONG_CALLERS = access_cases(ENDPOINTS)


@pytest.fixture(autouse=True)
def accounts():
    """The accounts of the callers' tokens: the customer alice and the operator."""
    User.objects.create_user("alice@example.com", PASSWORD, subject="alice")
    User.objects.create_user("operator@example.com", PASSWORD, subject="operator", role=User.Role.OPERATOR)


def state() -> tuple:
    return (
        list(User.objects.values_list("email", "subject", "role")),
        OutboxEvent.objects.count(),
        IdempotencyRecord.objects.count(),
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_without_a_token_every_endpoint_is_401_and_changes_nothing(anonymous, endpoint):
    assert_refused(lambda: endpoint.call(anonymous), 401, "not_authenticated", state=state)


@pytest.mark.parametrize(("endpoint", "kind"), WRONG_CALLERS)
def test_the_wrong_kind_of_caller_is_403_and_changes_nothing(callers, endpoint, kind):
    assert_refused(lambda: endpoint.call(callers[kind]), 403, "permission_denied", state=state)


@pytest.mark.parametrize(("endpoint", "kind"), RIGHT_CALLERS)
def test_the_right_caller_gets_through(callers, endpoint, kind):
    response = endpoint.call(callers[kind])

    assert response.status_code == endpoint.success, response.content

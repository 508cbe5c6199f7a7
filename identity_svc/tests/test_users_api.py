"""The operator API: operators create customers (with the id the other services already know them
by, or a new one) and other operators; everyone signed in reads their own account by the subject of
their token. Refusals answer in the error shape and create nothing."""

import re

import pytest
from accounts.models import User

from chassis.events.models import OutboxEvent
from chassis.testing import ApiClient, assert_error, assert_refused
from saga_contract import CUSTOMER_ID_PATTERN
from tests.factories import PASSWORD, operator_create

pytestmark = pytest.mark.django_db

USERS, ME = "/api/v1/users", "/api/v1/me"


def state() -> tuple:
    return list(User.objects.values_list("email", "subject", "role")), OutboxEvent.objects.count()


def test_an_operator_creates_a_customer_with_the_id_it_already_has(operator):
    response = operator.post(USERS, {"email": " Bob@Example.com", "password": PASSWORD, "subject": "bob"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["subject"], body["email"], body["role"]) == ("bob", "bob@example.com", "customer")
    assert set(body) == {"subject", "email", "role", "date_joined"}
    assert User.objects.get(subject="bob").check_password(PASSWORD)


def test_a_customer_created_by_an_operator_is_published_as_registered(operator):
    operator.post(USERS, {"email": "bob@example.com", "password": PASSWORD, "subject": "bob"})

    event = OutboxEvent.objects.get()
    assert (event.type, event.key) == ("identity.customer_registered", "bob")
    assert event.data == {"customer_id": "bob", "email": "bob@example.com"}


def test_a_customer_without_a_chosen_id_gets_a_new_one(operator):
    response = operator.post(USERS, {"email": "bob@example.com", "password": PASSWORD})

    assert response.status_code == 201
    assert re.fullmatch(CUSTOMER_ID_PATTERN, response.json()["subject"])
    assert User.objects.get().subject == response.json()["subject"]


def test_an_operator_creates_an_operator_and_publishes_nothing(operator):
    response = operator.post(USERS, {"email": "olivia@example.com", "password": PASSWORD, "role": "operator"})

    assert response.status_code == 201
    assert response.json()["role"] == "operator"
    assert User.objects.get().roles == ["operator"]
    assert not OutboxEvent.objects.exists()


def test_an_address_already_taken_in_any_spelling_is_409_user_exists(operator, alice):
    body = {"email": "ALICE@example.com", "password": PASSWORD, "subject": "alice2"}

    assert_refused(lambda: operator.post(USERS, body), 409, "user_exists", state=state)


def test_a_subject_already_taken_is_409_user_exists(operator, alice):
    body = {"email": "alice2@example.com", "password": PASSWORD, "subject": alice.subject}

    assert_refused(lambda: operator.post(USERS, body), 409, "user_exists", state=state)


def test_a_weak_password_is_422_password_refused_with_the_reasons(operator):
    before = state()

    response = operator.post(USERS, {"email": "bob@example.com", "password": "password1234"})

    assert_error(response, 422, "password_refused")
    assert response.json()["details"] == {"reasons": ["This password is too common."]}
    assert state() == before


def test_a_subject_that_is_not_a_customer_id_is_refused(operator):
    before = state()

    response = operator.post(
        USERS, {"email": "bob@example.com", "password": PASSWORD, "subject": "bob smith"}
    )

    assert_error(response, 400, "validation_error")
    assert state() == before


def test_creating_a_user_needs_an_idempotency_key(operator):
    body = {"email": "bob@example.com", "password": PASSWORD}

    assert_refused(lambda: operator.post(USERS, body, key=""), 400, "idempotency_key_missing", state=state)


def test_a_repeated_request_creates_the_user_once_and_answers_the_same(operator):
    body = {"email": "bob@example.com", "password": PASSWORD}

    first = operator.post(USERS, body, key="create-bob")
    again = operator.post(USERS, body, key="create-bob")

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert User.objects.count() == 1


def test_the_password_never_comes_back(operator):
    response = operator.post(USERS, {"email": "bob@example.com", "password": PASSWORD})

    assert PASSWORD not in response.content.decode()
    assert "password" not in response.json()


def test_a_customer_reads_its_own_account_by_the_subject_of_its_token(customer, alice):
    response = customer(alice.subject).get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "subject": alice.subject,
        "email": "alice@example.com",
        "role": "customer",
        "date_joined": alice.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_an_operator_reads_its_own_account(local_keys):
    olivia = operator_create()

    response = ApiClient(local_keys.operator_token(subject=olivia.subject)).get(ME)

    assert response.status_code == 200
    assert (response.json()["email"], response.json()["role"]) == (olivia.email, "operator")


def test_a_token_whose_subject_has_no_account_finds_none(customer, alice):
    assert_error(customer("someone-else").get(ME), 404, "not_found")

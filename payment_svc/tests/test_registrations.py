"""A registration opens the customer's account with PAYMENT_SIGNUP_CREDIT_CENTS: once, whatever the
number of deliveries, and never over an account that exists; a registration whose data cannot be read,
or another event, opens nothing."""

import uuid

import pytest
from payments.models import Account
from payments.services import account_open_on_registration, payment_authorize

from saga_contract.events import EventType, InvalidEnvelope
from tests.factories import registered

pytestmark = pytest.mark.django_db


def accounts() -> list[tuple[str, int, int, int, str]]:
    return list(
        Account.objects.values_list(
            "customer_id", "balance_cents", "held_cents", "deposited_cents", "currency"
        )
    )


def test_a_registration_opens_the_account_with_the_signup_credit():
    assert account_open_on_registration(registered(customer_id="carol"), trace_context={}) is True

    assert accounts() == [("carol", 50_000, 0, 50_000, "USD")]


def test_the_credit_is_the_setting(settings):
    settings.PAYMENT_SIGNUP_CREDIT_CENTS = 0
    account_open_on_registration(registered(customer_id="carol"), trace_context={})

    assert accounts() == [("carol", 0, 0, 0, "USD")]


def test_a_registration_delivered_again_changes_nothing(merchant):
    event = registered(customer_id="carol")
    account_open_on_registration(event, trace_context={})
    payment_authorize(order_id=uuid.uuid4(), customer_id="carol", amount_cents=1_500, currency="USD")
    before = accounts()

    assert account_open_on_registration(event, trace_context={}) is False
    assert account_open_on_registration(dict(event), trace_context={"traceparent": "ignored"}) is False

    assert accounts() == before == [("carol", 48_500, 1_500, 50_000, "USD")]


def test_an_account_an_operator_opened_first_is_kept_as_it_is(make_account):
    make_account(customer_id="carol", balance_cents=700)

    assert account_open_on_registration(registered(customer_id="carol"), trace_context={}) is False

    assert accounts() == [("carol", 700, 0, 700, "USD")]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"customer_id": "carol smith"}, "customer_id"),
        ({"customer_id": None}, "customer_id"),
        ({"customer_id": "dave"}, "key"),
        ({"email": "Carol@Example.com"}, "email"),
        ({"email": "carol"}, "email"),
        ({"email": 7}, "email"),
    ],
    ids=["not-a-customer-id", "no-customer-id", "not-the-key", "upper-case-email", "no-domain", "not-text"],
)
def test_a_registration_whose_data_cannot_be_read_is_refused_and_opens_nothing(change, problem):
    event = registered(customer_id="carol")
    event["data"].update(change)

    with pytest.raises(InvalidEnvelope, match=problem):
        account_open_on_registration(event, trace_context={})

    assert accounts() == []


def test_another_event_is_refused_and_opens_nothing():
    event = registered(customer_id="carol")
    event["type"] = EventType.ORDER_PLACED

    with pytest.raises(InvalidEnvelope, match=r"is not identity\.customer_registered"):
        account_open_on_registration(event, trace_context={})

    assert accounts() == []

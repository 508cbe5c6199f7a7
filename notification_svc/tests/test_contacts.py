"""Learning customers' email addresses: an identity.customer_registered stores the customer's address
once per event id, in the transaction that records the event in the inbox; the notifications made from
then on go to it; a registration whose data cannot be read stores nothing."""

import pytest
from notifications.models import CustomerContact, InboxRecord, Notification
from notifications.services import notification_receive

from saga_contract.events import EventType, InvalidEnvelope
from tests.factories import confirmed, registered

pytestmark = pytest.mark.django_db


def contacts() -> list[tuple[str, str]]:
    return list(CustomerContact.objects.values_list("customer_id", "email"))


def test_a_registration_stores_the_customers_address_once():
    event = registered(customer_id="alice", email="alice.smith@example.com")

    assert notification_receive(event, trace_context={}) is True
    assert notification_receive(event, trace_context={}) is False

    assert contacts() == [("alice", "alice.smith@example.com")]
    assert list(InboxRecord.objects.values_list("type", flat=True)) == [EventType.CUSTOMER_REGISTERED]
    assert not Notification.objects.exists()


def test_a_later_registration_of_the_customer_replaces_the_address():
    notification_receive(registered(customer_id="alice", email="alice@old.example"), trace_context={})
    notification_receive(registered(customer_id="alice", email="alice@new.example"), trace_context={})

    assert contacts() == [("alice", "alice@new.example")]


def test_notifications_made_after_a_registration_go_to_the_registered_address():
    notification_receive(registered(customer_id="alice", email="alice.smith@example.com"), trace_context={})
    notification_receive(confirmed(customer_id="alice"), trace_context={})
    notification_receive(confirmed(customer_id="bob"), trace_context={})

    assert dict(Notification.objects.values_list("customer_id", "recipient")) == {
        "alice": "alice.smith@example.com",
        "bob": "bob@customers.invalid",
    }


def test_a_notification_made_before_the_registration_keeps_its_recipient():
    notification_receive(confirmed(customer_id="alice"), trace_context={})
    notification_receive(registered(customer_id="alice", email="alice.smith@example.com"), trace_context={})

    assert Notification.objects.get().recipient == "alice@customers.invalid"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"email": "Alice@Example.com"}, "email"),
        ({"email": "alice"}, "email"),
        ({"email": None}, "email"),
        ({"customer_id": "alice bob"}, "customer_id"),
        ({"customer_id": "bob"}, "key"),
    ],
    ids=["upper-case", "no-domain", "missing", "not-a-customer-id", "not-the-key"],
)
def test_a_registration_whose_data_cannot_be_read_is_refused_and_stores_nothing(change, problem):
    event = registered(customer_id="alice")
    event["data"].update(change)

    with pytest.raises(InvalidEnvelope, match=problem):
        notification_receive(event, trace_context={})

    assert not InboxRecord.objects.exists()
    assert contacts() == []

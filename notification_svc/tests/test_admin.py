"""The admin shows notifications, the inbox and the customers' addresses, and lets no one add or change
them there."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from notifications.models import CustomerContact, Notification
from notifications.services import notification_receive

from tests.factories import notification_create, registered

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.test", "a-password-for-tests"))
    return client


@pytest.mark.parametrize("model", ["notification", "inboxrecord", "customercontact"])
def test_the_admin_lists_notifications_the_inbox_and_the_contacts(browser, model):
    notification_create()
    notification_receive(registered(), trace_context={})
    assert browser.get(f"/admin/notifications/{model}/").status_code == 200


def test_a_contact_cannot_be_added_or_changed(browser):
    notification_receive(registered(customer_id="alice", email="alice.smith@example.com"), trace_context={})
    contact = CustomerContact.objects.get()
    assert browser.get("/admin/notifications/customercontact/add/").status_code == 403
    browser.post(
        f"/admin/notifications/customercontact/{contact.pk}/change/",
        {"customer_id": "alice", "email": "mallory@example.com"},
    )
    assert CustomerContact.objects.get().email == "alice.smith@example.com"


def test_a_notification_is_shown_but_cannot_be_added_or_changed(browser):
    notification = notification_create()
    page = browser.get(f"/admin/notifications/notification/{notification.pk}/change/")
    assert page.status_code == 200
    assert notification.subject in page.content.decode()
    assert browser.get("/admin/notifications/notification/add/").status_code == 403
    browser.post(f"/admin/notifications/notification/{notification.pk}/change/", {"status": "SENT"})
    assert Notification.objects.get().status == "PENDING"

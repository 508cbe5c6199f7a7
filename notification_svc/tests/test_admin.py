"""The admin shows notifications and the inbox, and lets no one add or change them there."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from notifications.models import Notification

from tests.factories import notification_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.test", "a-password-for-tests"))
    return client


@pytest.mark.parametrize("model", ["notification", "inboxrecord"])
def test_the_admin_lists_notifications_and_the_inbox(browser, model):
    notification_create()
    assert browser.get(f"/admin/notifications/{model}/").status_code == 200


def test_a_notification_is_shown_but_cannot_be_added_or_changed(browser):
    notification = notification_create()
    page = browser.get(f"/admin/notifications/notification/{notification.pk}/change/")
    assert page.status_code == 200
    assert notification.subject in page.content.decode()
    assert browser.get("/admin/notifications/notification/add/").status_code == 403
    browser.post(f"/admin/notifications/notification/{notification.pk}/change/", {"status": "SENT"})
    assert Notification.objects.get().status == "PENDING"

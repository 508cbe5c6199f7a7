"""/metrics reports the notifications from the database at each scrape: those waiting and the age of
the oldest, the emails sent, and every failed send."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from notifications.models import Notification
from notifications.services import notification_send_due

from tests.factories import notification_create

pytestmark = pytest.mark.django_db


def scrape() -> dict[str, float]:
    text = Client().get("/metrics").content.decode()
    return {
        name: float(value)
        for name, value in re.findall(r"^(notification_[a-z_]+) (\S+)$", text, flags=re.MULTILINE)
    }


def test_nothing_to_send_is_all_zero():
    assert scrape() == {
        "notification_pending": 0,
        "notification_pending_oldest_age_seconds": 0,
        "notification_send_failures_total": 0,
        "notification_sent_total": 0,
    }


def test_pending_sent_and_failed_sends_are_counted(failing_sends):
    sent, failing, waiting = notification_create(), notification_create(), notification_create()
    Notification.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - timedelta(minutes=5), next_attempt_at=timezone.now() + timedelta(days=1)
    )
    Notification.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    failing_sends(2)
    notification_send_due(limit=1)  # `failing` fails once
    Notification.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    notification_send_due(limit=1)  # and again
    notification_send_due()  # `sent` goes out; `failing` waits for its retry

    figures = scrape()

    assert Notification.objects.get(pk=sent.pk).status == "SENT"
    assert figures["notification_pending"] == 2
    assert 300 <= figures["notification_pending_oldest_age_seconds"] < 330
    assert figures["notification_send_failures_total"] == 2
    assert figures["notification_sent_total"] == 1

    Notification.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now())
    notification_send_due()
    figures = scrape()
    assert figures["notification_send_failures_total"] == 2, "a sent notification's failures still count"
    assert figures["notification_sent_total"] == 2
    assert figures["notification_pending"] == 1

"""The notifications as Prometheus sees them, read from the database at each scrape (so every web
worker and sender agrees): how many wait to be sent and how long the oldest has waited, the emails
sent, and the sends that failed. A pending count that only grows means email is not getting out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from notifications.models import Notification

PENDING, SENT = Notification.Status.PENDING, Notification.Status.SENT


class NotificationCollector:
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        figures = Notification.objects.aggregate(
            pending=Count("id", filter=Q(status=PENDING)),
            oldest=Min("created_at", filter=Q(status=PENDING)),
            sent=Count("id", filter=Q(status=SENT)),
            attempts=Sum("attempts"),
        )
        yield GaugeMetricFamily(
            "notification_pending", "Notifications not sent yet.", value=figures["pending"]
        )
        yield GaugeMetricFamily(
            "notification_pending_oldest_age_seconds",
            "Age of the oldest notification not sent yet (0: none).",
            value=_age(now, figures["oldest"]),
        )
        # Every attempt failed but the one that sent a SENT notification.
        yield CounterMetricFamily(
            "notification_send_failures",
            "Sends that failed, over every notification.",
            value=(figures["attempts"] or 0) - figures["sent"],
        )
        yield CounterMetricFamily("notification_sent", "Notifications sent.", value=figures["sent"])

    def describe(self) -> list[Metric]:
        return []


def _age(now: datetime, since: datetime | None) -> float:
    return (now - since).total_seconds() if since else 0.0

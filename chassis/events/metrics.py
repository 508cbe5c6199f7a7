"""The events outbox as Prometheus sees it, read from the database at each scrape: events waiting
for the broker's confirm, and how long the oldest has waited. The publisher's own latency and the
consumers' figures are process metrics (chassis.events.publisher, chassis.events.consumer)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from chassis.events.models import OutboxEvent


class EventOutboxCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(
            count=Count("sequence"), oldest=Min("occurred_at")
        )
        oldest = waiting["oldest"]
        yield GaugeMetricFamily(
            "events_outbox_waiting", "Events not yet confirmed by the broker.", value=waiting["count"]
        )
        yield GaugeMetricFamily(
            "events_outbox_oldest_age_seconds",
            "Age of the oldest event not yet confirmed by the broker (0: none).",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )

    def describe(self) -> list[Metric]:
        return []

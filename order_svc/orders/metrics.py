"""The orders and their outbox as Prometheus sees them, read from the database at each scrape (so
every web worker and relay agrees): sagas waiting to be started, orders waiting for their saga to
end, and how long the oldest of each has waited. An order still pending well past its saga's
deadline is a stuck saga."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from orders.models import Order, OutboxRecord


class OrderSagaCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        outbox = OutboxRecord.objects.filter(started_at__isnull=True).aggregate(
            count=Count("id"), oldest=Min("created_at")
        )
        pending = Order.objects.filter(status=Order.Status.PENDING).aggregate(
            count=Count("id"), oldest=Min("created_at")
        )
        for name, help_text, value in (
            ("saga_outbox_waiting", "Outbox records whose saga is not started yet.", outbox["count"]),
            (
                "saga_outbox_oldest_age_seconds",
                "Age of the oldest outbox record not started yet (0: none).",
                _age(now, outbox["oldest"]),
            ),
            ("saga_orders_pending", "Orders whose saga has not ended yet.", pending["count"]),
            (
                "saga_orders_pending_oldest_age_seconds",
                "Age of the oldest order whose saga has not ended (0: none).",
                _age(now, pending["oldest"]),
            ),
        ):
            yield GaugeMetricFamily(name, help_text, value=value)

    def describe(self) -> list[Metric]:
        return []


def _age(now: datetime, since: datetime | None) -> float:
    return (now - since).total_seconds() if since else 0.0

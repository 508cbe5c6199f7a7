"""`manage.py declare_broker`: declare the broker's topology once, before anything is published:
every service's topic exchange, notification_svc's queue bound to the events it consumes, and the
dead-letter exchange and queue. Safe to run again (a declare of what exists changes nothing)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from chassis.conf import shared_settings
from chassis.events.broker import broker_connection, dead_letter_queue, notification_queue, service_exchange
from saga_contract.events import EXCHANGES


class Command(BaseCommand):
    help = "Declare the services' exchanges and notification_svc's queues on the broker."

    def handle(self, *args: Any, **options: Any) -> None:
        url = shared_settings.EVENTS_BROKER_URL
        with broker_connection() as connection:
            connection.ensure_connection(max_retries=5, interval_start=0.5, interval_step=1, interval_max=3)
            channel = connection.channel()
            for service in EXCHANGES:
                service_exchange(service)(channel).declare()
            for queue in (notification_queue(url), dead_letter_queue(url)):
                queue(channel).declare()
        self.stdout.write(
            f"declared {len(EXCHANGES)} exchanges, the notification queue and its dead-letter queue"
        )

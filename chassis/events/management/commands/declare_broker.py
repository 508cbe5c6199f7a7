"""`manage.py declare_broker`: declare the broker's topology once, before anything is published:
every service's topic exchange, every consumer's queue bound to the events it consumes (notification_svc's
and payment_svc's), and the dead-letter exchange and queue. Any service's folder may run it; the stack
runs it in notification_svc's. Safe to run again: a declare of what exists changes nothing, and a
binding added to a queue since its last run is made."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from chassis.conf import shared_settings
from chassis.events.broker import broker_connection, consumer_queue, dead_letter_queue, service_exchange
from saga_contract.events import EXCHANGES, QUEUE_BINDINGS


class Command(BaseCommand):
    help = "Declare the services' exchanges, the consumers' queues and the dead-letter queue on the broker."

    def handle(self, *args: Any, **options: Any) -> None:
        url = shared_settings.EVENTS_BROKER_URL
        with broker_connection() as connection:
            connection.ensure_connection(max_retries=5, interval_start=0.5, interval_step=1, interval_max=3)
            channel = connection.channel()
            for service in EXCHANGES:
                service_exchange(service)(channel).declare()
            queues = [consumer_queue(name, url) for name in QUEUE_BINDINGS]
            for queue in (*queues, dead_letter_queue(url)):
                queue(channel).declare()
        self.stdout.write(
            f"declared {len(EXCHANGES)} exchanges, {len(queues)} consumer queues "
            f"({', '.join(QUEUE_BINDINGS)}) and the dead-letter queue"
        )

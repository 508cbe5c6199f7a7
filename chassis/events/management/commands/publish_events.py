"""`manage.py publish_events`: the service's event publisher as a process of its own, beside its web
workers. Runs until SIGTERM or SIGINT and exits 0; `--once` publishes what is waiting and exits."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chassis.conf import shared_settings
from chassis.events.broker import without_password
from chassis.events.publisher import EventPublisher
from observability.logs import name_service
from observability.tracing import start_tracing, stop_tracing
from saga_contract.events import EXCHANGES

logger = logging.getLogger("chassis.events.publisher")


class Command(BaseCommand):
    help = "Relay the service's events outbox to the broker, oldest first, with publisher confirms."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="publish what is waiting now, then exit")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        service = shared_settings.LOG_SERVICE
        if service not in EXCHANGES:
            raise CommandError(f"{service} publishes no events")
        name = f"{service.removesuffix('_svc')}-publisher"  # as the stack names the process
        name_service(name)
        start_tracing(name, shared_settings.TRACING)
        publisher = EventPublisher(service)
        try:
            if once:
                published = 0
                while count := publisher.publish_due():
                    published += count
                logger.info("events published", extra={"fields": {"events": published}})
                return
            self._run_until_signalled(publisher)
        finally:
            publisher.disconnect()
            stop_tracing()

    def _run_until_signalled(self, publisher: EventPublisher) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            logger.info("event publisher stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        logger.info(
            "event publisher running",
            extra={
                "fields": {
                    "exchange": publisher.exchange.name,
                    "broker": without_password(shared_settings.EVENTS_BROKER_URL),
                }
            },
        )
        try:
            publisher.run(stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("event publisher stopped")

"""`manage.py notify`: the notifier, a process of its own beside the service's web workers.

It consumes the order events from the service's queue (chassis.events.consumer), records each in the
inbox with the notification it makes (notification_receive), and between messages, and at least every
second, sends the notifications that are due (notification_send_due). Runs until SIGTERM or SIGINT
and exits 0. Several notifiers may run at once: the inbox drops a second copy of an event, and a
notification is sent by one sender at a time.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand

from chassis.conf import shared_settings
from chassis.events.broker import broker_connection, notification_queue
from chassis.events.consumer import EventConsumer
from notifications.services import notification_receive, notification_send_due
from observability.logs import name_service
from observability.tracing import start_tracing, stop_tracing

logger = logging.getLogger("notifications.notifier")


class Command(BaseCommand):
    help = "Consume the order events and send the customers' notifications, until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        name_service("notifier")
        start_tracing("notifier", shared_settings.TRACING)
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            logger.info("notifier stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        url = shared_settings.EVENTS_BROKER_URL
        logger.info("notifier running", extra={"fields": {"email_backend": settings.EMAIL_BACKEND}})
        try:
            with broker_connection(url) as connection:
                consumer = EventConsumer(
                    connection,
                    notification_queue(url),
                    notification_receive,
                    stop=stop,
                    on_idle=notification_send_due,
                )
                # kombu's ConsumerMixin.run is unannotated: called through a typed view of it.
                run = cast(Callable[[], object], consumer.run)
                run()  # consumes, and connects again after a broker failure, until `stop` is set
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("notifier stopped")

    def run_from_argv(self, argv: list[str]) -> None:
        """The command-line entry: run, then export the spans still buffered."""
        try:
            super().run_from_argv(argv)
        finally:
            stop_tracing()

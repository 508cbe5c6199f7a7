"""`manage.py notify`: the notifier, a process of its own beside the service's web workers.

It consumes the service's queue (chassis.events.consumer): each event goes into the inbox, with the
notification an order event makes or the email address a registration tells (notification_receive).
Between messages, and at least every second, it sends the notifications that are due
(notification_send_due). Runs until SIGTERM or SIGINT and exits 0. Several notifiers may run at once:
the inbox drops a second copy of an event, and a notification is sent by one sender at a time.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from chassis.conf import shared_settings
from chassis.events.consumer import consume
from chassis.shutdown import stop_on_signals
from notifications.services import notification_receive, notification_send_due
from observability.logs import name_service
from observability.tracing import start_tracing, stop_tracing
from saga_contract.events import NOTIFICATION_QUEUE

logger = logging.getLogger("notifications.notifier")


class Command(BaseCommand):
    help = "Consume the order events and registrations, and send the customers' notifications, until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        name_service("notifier")
        start_tracing("notifier", shared_settings.TRACING)
        logger.info("notifier running", extra={"fields": {"email_backend": settings.EMAIL_BACKEND}})
        with stop_on_signals(logger, "notifier") as stop:
            consume(NOTIFICATION_QUEUE, notification_receive, stop=stop, on_idle=notification_send_due)
        logger.info("notifier stopped")

    def run_from_argv(self, argv: list[str]) -> None:
        """The command-line entry: run, then export the spans still buffered."""
        try:
            super().run_from_argv(argv)
        finally:
            stop_tracing()

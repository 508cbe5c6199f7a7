"""`manage.py consume_events`: payment_svc's event consumer, a process of its own beside the service's
web workers and its publisher.

It consumes the service's queue (chassis.events.consumer) and opens the account of each customer that
identity_svc registers (account_open_on_registration). Runs until SIGTERM or SIGINT and exits 0.
Several consumers may run at once: a customer's account is opened once, whichever takes the event.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from chassis.conf import shared_settings
from chassis.events.broker import without_password
from chassis.events.consumer import consume
from chassis.shutdown import stop_on_signals
from observability.logs import name_service
from observability.tracing import start_tracing, stop_tracing
from payments.services import account_open_on_registration
from saga_contract.events import PAYMENT_QUEUE

logger = logging.getLogger("payments.consumer")

PROCESS = "payment-consumer"
"""The process's name in its log lines and traces, as the stack names it."""


class Command(BaseCommand):
    help = "Consume identity_svc's registrations and open each new customer's account, until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        name_service(PROCESS)
        start_tracing(PROCESS, shared_settings.TRACING)
        logger.info(
            "payment consumer running",
            extra={
                "fields": {
                    "queue": PAYMENT_QUEUE,
                    "broker": without_password(shared_settings.EVENTS_BROKER_URL),
                    "signup_credit_cents": settings.PAYMENT_SIGNUP_CREDIT_CENTS,
                }
            },
        )
        with stop_on_signals(logger, "payment consumer") as stop:
            consume(PAYMENT_QUEUE, account_open_on_registration, stop=stop)
        logger.info("payment consumer stopped")

    def run_from_argv(self, argv: list[str]) -> None:
        """The command-line entry: run, then export the spans still buffered."""
        try:
            super().run_from_argv(argv)
        finally:
            stop_tracing()

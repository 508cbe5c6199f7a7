"""`manage.py relay_outbox`: the outbox relay as a process of its own, next to order_svc's web workers.

Runs until SIGTERM or SIGINT and exits 0; `--once` relays what is due now and exits (tests, cron).
Logs JSON lines through the service's logging settings, as service `relay`, and traces each start
as part of its order's trace (the placement's context is stored with the record). Run from the
command line it leaves through `os._exit` after flushing: temporalio can crash the interpreter's
own exit (ARCHITECTURE.md).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from chassis.conf import shared_settings
from observability.logs import name_service
from observability.tracing import start_tracing, stop_tracing
from orders.relay import OutboxRelay
from orders.saga_gateway import SagaUnreachable, saga_gateway, saga_gateway_close

logger = logging.getLogger("orders.relay")


class Command(BaseCommand):
    help = "Start the saga of every order in the outbox, retrying until it is started."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="relay what is due now, then exit")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        name_service("relay")
        start_tracing("relay", shared_settings.TRACING)
        saga_gateway(one_caller=True)  # every start and the connect come from this thread
        relay = OutboxRelay()
        if once:
            handled = relay.drain()
            logger.info("outbox drained", extra={"fields": {"records": handled}})
            return
        self._run_until_signalled(relay)

    def _run_until_signalled(self, relay: OutboxRelay) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            logger.info("outbox relay stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        logger.info(
            "outbox relay running",
            extra={
                "fields": {
                    "temporal_address": settings.TEMPORAL_ADDRESS,
                    "task_queue": settings.TEMPORAL_TASK_QUEUE,
                    "poll_seconds": settings.OUTBOX_POLL_SECONDS,
                }
            },
        )
        try:
            self._connect()
            relay.run(stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("outbox relay stopped")

    @staticmethod
    def _connect() -> None:
        """Connect to Temporal before the first order waits for it; if Temporal is away, each start
        tries again (and fails, and is retried later) until it is back."""
        try:
            saga_gateway().connect()
        except SagaUnreachable as error:
            logger.warning(
                "Temporal is not reachable yet; starts will try again",
                extra={"fields": {"error": str(error)}},
            )

    def run_from_argv(self, argv: list[str]) -> None:
        """The command-line entry: run, then flush and leave with os._exit (0 unless it failed)."""
        code = 0
        try:
            super().run_from_argv(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except KeyboardInterrupt:  # SIGINT before the handler was installed
            code = 0
        except BaseException:
            logger.exception("outbox relay crashed")
            code = 1
        finally:
            saga_gateway_close()
            stop_tracing()
            for handler in logging.getLogger().handlers:
                handler.flush()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

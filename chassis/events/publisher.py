"""A service's event publisher: relays its events outbox to the broker, oldest first, and marks an
event published only once the broker has confirmed it.

One publisher of a service is active at a time (`leadership`: an advisory lock on PostgreSQL, a lock
file beside the SQLite database), so the events of one key reach the broker in the order they were
recorded; others wait as stand-ins. It publishes in batches: each event is sent, persistent, and
confirmed by the broker before the next; the first that fails ends the batch (nothing after it
overtakes it) and is tried again after a backoff, over a new connection. The confirmed ones are
marked in one statement. A publisher that dies between a confirm and the mark sends those events
again: delivery is at least once, and consumers drop a second copy by the event id.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.db import close_old_connections, connections
from django.db.backends.sqlite3 import base as sqlite3
from django.db.models import F
from django.utils import timezone
from kombu import Connection, Producer
from opentelemetry import propagate, trace
from prometheus_client import Histogram

from chassis.backoff import jittered_backoff
from chassis.conf import shared_settings
from chassis.events.broker import broker_connection, service_exchange
from chassis.events.models import OutboxEvent
from chassis.events.services import EVENTS_CHANNEL
from chassis.wakeups import Wakeups
from saga_contract.events import EXCHANGES, Envelope

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

MAX_ERROR_LENGTH = 2000
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 15.0
_STOP_CHECK_SECONDS = 0.25

PUBLISH_LATENCY = Histogram(
    "events_publish_latency_seconds",
    "From an event's commit to the broker's confirm of its message.",
    ["exchange"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def envelope_of(event: OutboxEvent, source: str) -> Envelope:
    return {
        "id": str(event.event_id),
        "type": event.type,
        "version": event.version,
        "key": event.key,
        "source": source,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data,
    }


def backoff(failures: int) -> float:
    """After a publication or handling failed `failures` times in a row: RETRY_FIRST_SECONDS doubling
    up to RETRY_MAX_SECONDS, jittered."""
    return jittered_backoff(failures, first=RETRY_FIRST_SECONDS, ceiling=RETRY_MAX_SECONDS)


class EventPublisher:
    """Relays the outbox of `service` (a saga_contract.events.EXCHANGES key) to its exchange."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.exchange = service_exchange(service)
        self.batch_size = shared_settings.EVENTS_BATCH_SIZE
        self.poll_seconds = shared_settings.EVENTS_POLL_SECONDS
        self.confirm_timeout = shared_settings.EVENTS_CONFIRM_TIMEOUT_SECONDS
        self._connection: Connection | None = None
        self._producer: Producer | None = None

    def publish_due(self) -> int:
        """One batch: publish the oldest unpublished events until one fails; the number confirmed.
        Raises what stopped the batch, once the confirmed ones are marked."""
        events = list(
            OutboxEvent.objects.filter(published_at__isnull=True).order_by("sequence")[: self.batch_size]
        )
        confirmed: list[int] = []
        try:
            for event in events:
                self._publish(event)
                confirmed.append(event.sequence)
        except Exception as error:
            failed = events[len(confirmed)]
            OutboxEvent.objects.filter(sequence=failed.sequence).update(
                attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
            )
            self.disconnect()  # the next attempt starts over on a new connection
            raise
        finally:
            if confirmed:
                OutboxEvent.objects.filter(sequence__in=confirmed, published_at__isnull=True).update(
                    published_at=timezone.now(), attempts=F("attempts") + 1
                )
        return len(confirmed)

    def _publish(self, event: OutboxEvent) -> None:
        producer = self._ready_producer()
        envelope = envelope_of(event, self.service)
        with tracer.start_as_current_span(
            f"publish {event.type}",
            context=propagate.extract(event.trace_context or {}),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.destination.name": self.exchange.name,
                "messaging.rabbitmq.destination.routing_key": event.type,
                "messaging.message.id": envelope["id"],
                "event.key": event.key,
            },
        ):
            headers: dict[str, Any] = {}
            propagate.inject(headers)
            producer.publish(
                json.dumps(envelope),
                routing_key=event.type,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,  # persistent
                message_id=envelope["id"],
                headers=headers,
                retry=False,
                confirm_timeout=self.confirm_timeout,
            )
        PUBLISH_LATENCY.labels(self.exchange.name).observe(
            max(0.0, time.time() - event.occurred_at.timestamp())
        )

    def _ready_producer(self) -> Producer:
        if self._producer is None:
            self._connection = broker_connection()
            self._connection.ensure_connection(
                max_retries=1, timeout=shared_settings.EVENTS_BROKER_CONNECT_TIMEOUT_SECONDS
            )
            self._producer = Producer(self._connection.channel(), exchange=self.exchange)  # declares it
        return self._producer

    def disconnect(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # a connection the broker cut is closed already
                self._connection.release()
        self._connection = None
        self._producer = None

    def run(self, stop: threading.Event) -> None:
        """Publish until `stop` is set: at once again after a full batch, otherwise when a recorded
        event wakes it or `poll_seconds` pass; after a failure (the broker or the database away), after
        a backoff. Only while it holds the service's leadership, which it checks before each batch: a
        publisher whose lock went with its database connection stops and takes its turn again."""
        wakeups = Wakeups(EVENTS_CHANNEL)
        try:
            while not stop.is_set():
                with leadership(self.service, stop) as still_held:
                    if still_held is None:
                        return
                    logger.info("event publisher leading", extra={"fields": {"exchange": self.exchange.name}})
                    self._publish_while(still_held, stop, wakeups)
        finally:
            wakeups.close()
            self.disconnect()
            connections.close_all()

    def _publish_while(self, still_held: Callable[[], bool], stop: threading.Event, wakeups: Wakeups) -> None:
        failures = 0
        while not stop.is_set():
            if not still_held():
                logger.warning("event publisher lost its lock; taking its turn again")
                return
            try:
                published = self.publish_due()
                failures = 0
            except Exception as error:
                failures += 1
                delay = backoff(failures)
                logger.warning(
                    "event publication failed; retrying",
                    extra={
                        "fields": {"error": f"{type(error).__name__}: {error}", "retry_in_s": round(delay, 3)}
                    },
                )
                close_old_connections()
                stop.wait(delay)
                continue
            if published < self.batch_size:
                self._idle(stop, wakeups)
                close_old_connections()

    def _idle(self, stop: threading.Event, wakeups: Wakeups) -> None:
        deadline = time.monotonic() + self.poll_seconds
        while not stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
            if wakeups.wait(min(remaining, _STOP_CHECK_SECONDS)):
                return


@contextlib.contextmanager
def leadership(
    service: str, stop: threading.Event, *, retry_seconds: float = 2.0
) -> Iterator[Callable[[], bool] | None]:
    """Hold the one publisher's place of `service` until the block ends. Yields a check that says
    whether the place is still held, once it is; None if `stop` was set first. PostgreSQL: a session
    advisory lock on a connection of its own, gone with that connection (the check asks it). SQLite:
    an exclusive lock on a file beside the database (in the var folder for an in-memory one), held
    until the file is closed."""
    if connections["default"].vendor == "postgresql":
        with _advisory_lock(service, stop, retry_seconds) as still_held:
            yield still_held
    else:
        with _lock_file(service, stop, retry_seconds) as still_held:
            yield still_held


@contextlib.contextmanager
def _advisory_lock(
    service: str, stop: threading.Event, retry_seconds: float
) -> Iterator[Callable[[], bool] | None]:
    key = int.from_bytes(
        hashlib.sha256(f"events-publisher:{service}".encode()).digest()[:8], "big", signed=True
    )
    holder = connections.create_connection("default")

    def still_held() -> bool:
        try:
            holder.connection.execute("SELECT 1")
        except Exception:  # the connection, and the lock with it, is gone
            return False
        return True

    try:
        while True:  # at least one try, even when asked to stop
            held = False
            try:
                holder.ensure_connection()
                holder.connection.autocommit = True
                held = bool(holder.connection.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0])
            except Exception as error:  # the database away: try again
                logger.warning("event publisher cannot take its lock yet: %s", error)
                with contextlib.suppress(Exception):
                    holder.close()
            if held or stop.wait(retry_seconds):
                break
        yield still_held if held else None
    finally:
        with contextlib.suppress(Exception):
            holder.close()


@contextlib.contextmanager
def _lock_file(
    service: str, stop: threading.Event, retry_seconds: float
) -> Iterator[Callable[[], bool] | None]:
    connection = connections["default"]
    beside: Path | str = connection.settings_dict["NAME"]
    if isinstance(connection, sqlite3.DatabaseWrapper) and connection.is_in_memory_db():
        beside = shared_settings.VAR_DIR / "in-memory"  # no file to lie beside
    path = Path(f"{beside}.{EXCHANGES[service]}.publisher.lock")
    with path.open("a") as lock_file:
        while True:  # at least one try, even when asked to stop
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                held = False
            if held or stop.wait(retry_seconds):
                break
        yield (lambda: True) if held else None  # closing the file releases the lock

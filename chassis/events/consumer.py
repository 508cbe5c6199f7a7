"""A consumer of integration events: takes each message from its queue, hands it to the service's
handler, and acknowledges it only once the handler has committed.

The handler (`handle(envelope, trace_context=...) -> bool`, False for an event it had seen already)
must make a second handling of an event harmless, because delivery is at least once: notification_svc
keeps an inbox of the event ids it handled, and payment_svc's accounts are keyed by the customer a
registration names. What goes wrong is told apart:

- the database away (OperationalError, InterfaceError): the same message is tried again with a
  backoff for as long as it takes, and nothing else is taken meanwhile; no failure is counted.
- anything else (a body that is no Envelope, a bug): a failure. The message goes back to its queue,
  and to no other queue bound to its routing key, until it has failed MAX_HANDLING_FAILURES times in
  this process. Then it is published to the dead-letter exchange, with why in its headers, and
  acknowledged. On RabbitMQ the queue's own delivery limit catches what this process cannot count (a
  message whose every delivery kills it).

Between messages, and at least every `idle_seconds`, `on_idle` runs: notification_svc sends its due
emails there. kombu's ConsumerMixin keeps the connection, and makes it again when the broker goes.
`consume` is what a service's consumer command runs: its queue, from the broker of EVENTS_BROKER_URL.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, cast

from django.db import InterfaceError, OperationalError, close_old_connections
from kombu import Connection, Consumer, Message, Producer, Queue
from kombu.mixins import ConsumerMixin
from opentelemetry import propagate, trace
from prometheus_client import Counter as CounterMetric
from prometheus_client import Gauge, Histogram

from chassis.conf import shared_settings
from chassis.events.broker import (
    broker_connection,
    consumer_queue,
    dead_letter_exchange,
    dead_letter_queue,
    on_filesystem,
)
from chassis.events.publisher import backoff
from saga_contract.events import (
    DEAD_LETTER_QUEUE,
    MAX_HANDLING_FAILURES,
    TRACE_HEADERS,
    Envelope,
    parse_envelope,
)

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


class Handler(Protocol):
    """A service's handling of one event: False for an event it had handled already."""

    def __call__(self, envelope: Envelope, *, trace_context: dict[str, str]) -> bool: ...


CONSUMED = CounterMetric("events_consumed", "Messages handled and acknowledged.", ["queue", "outcome"])
HANDLING_FAILURES = CounterMetric(
    "events_handling_failures", "Handlings that failed (not the database's).", ["queue"]
)
DEAD_LETTERED = CounterMetric(
    "events_dead_lettered", "Messages this consumer sent to the dead-letter queue.", ["queue"]
)
LAG = Histogram(
    "events_consumer_lag_seconds",
    "From an event's commit at its source to its handling here.",
    ["queue"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
DEPTH = Gauge(
    "events_queue_depth",
    "Messages ready in a queue, as the broker last said.",
    ["queue"],
    multiprocess_mode="livemax",
)

_DEPTH_EVERY_SECONDS = 10.0


class EventConsumer(ConsumerMixin):
    """Consumes `queue` on `connection` with `handle`, until `stop` is set (kombu's ConsumerMixin keeps
    the connection and makes it again); `on_idle` between messages and at least every second."""

    def __init__(
        self,
        connection: Connection,
        queue: Queue,
        handle: Handler,
        *,
        stop: threading.Event,
        on_idle: Callable[[], object] = lambda: None,
        prefetch: int = 10,
    ) -> None:
        self.connection = connection
        self.queue = queue
        self.handle = handle
        self.stop = stop
        self.on_idle = on_idle
        self.prefetch = prefetch
        self.embedded = on_filesystem(connection)
        """On the filesystem transport, whose URI names its class, not `filesystem://`."""
        self.dead_letters = dead_letter_queue("filesystem://" if self.embedded else connection.as_uri())
        self.failures: Counter[str] = Counter()
        self._depth_at = 0.0

    @property
    def should_stop(self) -> bool:  # ConsumerMixin's loop reads it between iterations
        return self.stop.is_set()

    @should_stop.setter
    def should_stop(self, value: bool) -> None:
        if value:
            self.stop.set()

    def get_consumers(self, consumer: Callable[..., Consumer], channel: Any) -> list[Consumer]:
        """kombu's Consumer, already bound to the channel, for the queue; the dead-letter queue declared."""
        self.dead_letters(channel).declare()
        return [
            consumer(
                queues=[self.queue],
                callbacks=[self.on_message],
                accept=["json"],
                prefetch_count=self.prefetch,
                on_decode_error=self.on_decode_error,
            )
        ]

    def on_iteration(self) -> None:
        self._run_idle_work()

    def on_consume_ready(
        self, connection: Connection, channel: Any, consumers: list[Consumer], **kwargs: Any
    ) -> None:
        logger.info("consuming", extra={"fields": {"queue": self.queue.name}})

    def on_connection_error(self, exc: BaseException, interval: float) -> None:
        logger.warning(
            "broker unreachable; connecting again", extra={"fields": {"error": str(exc), "in_s": interval}}
        )

    def on_message(self, body: Any, message: Message) -> None:
        headers = dict(message.headers or {})
        trace_context = {name: str(headers[name]) for name in TRACE_HEADERS if name in headers}
        identity = _identity(message)
        try:
            envelope = parse_envelope(body)
            with tracer.start_as_current_span(
                f"receive {envelope['type']}",
                context=propagate.extract(trace_context),
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "rabbitmq",
                    "messaging.destination.name": self.queue.name,
                    "messaging.message.id": envelope["id"],
                    "event.key": envelope["key"],
                },
            ):
                new = self._handle_while_database_away(envelope, trace_context)
        except _Stopping:
            self._requeue(message)
            return
        except Exception as error:
            self._failed(message, identity, f"{type(error).__name__}: {error}")
            return
        message.ack()
        self.failures.pop(identity, None)
        CONSUMED.labels(self.queue.name, "handled" if new else "duplicate").inc()
        LAG.labels(self.queue.name).observe(max(0.0, time.time() - _timestamp(envelope["occurred_at"])))
        self._run_idle_work(after_message=True)

    def on_decode_error(self, message: Message, error: Exception) -> None:
        """A body that is not JSON: no retry makes it readable."""
        identity = _identity(message)
        self.failures[identity] = MAX_HANDLING_FAILURES - 1
        self._failed(message, identity, f"undecodable body: {error}")

    def _handle_while_database_away(self, envelope: Envelope, trace_context: dict[str, str]) -> bool:
        failures = 0
        while True:
            try:
                return self.handle(envelope, trace_context=trace_context)
            except (OperationalError, InterfaceError) as error:
                failures += 1
                delay = backoff(failures)
                logger.warning(
                    "database unavailable; handling again",
                    extra={
                        "fields": {
                            "event_id": envelope["id"],
                            "error": str(error),
                            "retry_in_s": round(delay, 3),
                        }
                    },
                )
                close_old_connections()
                if self.stop.wait(delay):
                    raise _Stopping from None
                self.connection.heartbeat_check()  # keep the broker's connection alive while waiting

    def _failed(self, message: Message, identity: str, reason: str) -> None:
        self.failures[identity] += 1
        count = self.failures[identity]
        HANDLING_FAILURES.labels(self.queue.name).inc()
        logger.warning(
            "event handling failed",
            extra={"fields": {"message_id": identity, "failures": count, "error": reason}},
        )
        if count < MAX_HANDLING_FAILURES:
            self._requeue(message)
            return
        Producer(message.channel).publish(
            message.body,
            exchange=dead_letter_exchange(),
            routing_key=DEAD_LETTER_QUEUE,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            delivery_mode=2,
            message_id=message.properties.get("message_id"),
            headers={
                **(message.headers or {}),
                "x-failure": reason[:500],
                "x-failures": count,
                "x-first-queue": self.queue.name,
                "x-first-routing-key": _routing_key(message),
            },
            retry=False,
        )
        message.ack()
        self.failures.pop(identity, None)
        DEAD_LETTERED.labels(self.queue.name).inc()
        logger.error("event dead-lettered", extra={"fields": {"message_id": identity, "error": reason}})

    def _requeue(self, message: Message) -> None:
        """Put the message back on this consumer's queue, to be handled again.

        RabbitMQ returns a rejected message to the queue it came from. kombu's filesystem transport
        routes it through its exchange again instead, which would hand a copy to every other queue
        bound to its routing key (notification_svc's and payment_svc's both take
        identity.customer_registered), and each of their failures would copy it back. There the
        message is published to this queue alone, keeping its id and its original routing key, and
        the delivery is acknowledged."""
        if not self.embedded:
            message.requeue()
            return
        Producer(message.channel).publish(
            message.body,
            exchange="",  # the default exchange: the routing key names the queue
            routing_key=self.queue.name,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            delivery_mode=2,
            message_id=message.properties.get("message_id"),
            headers={**(message.headers or {}), _ROUTING_KEY_HEADER: _routing_key(message)},
            retry=False,
        )
        message.ack()

    def _run_idle_work(self, *, after_message: bool = False) -> None:
        try:
            self.on_idle()
        except Exception:
            logger.exception("idle work failed")
            close_old_connections()
        now = time.monotonic()
        if not after_message and now - self._depth_at >= _DEPTH_EVERY_SECONDS:
            self._depth_at = now
            self._measure_depths()

    def _measure_depths(self) -> None:
        """The broker's count of ready messages in the queue and the dead-letter queue (a passive
        declare: it creates nothing)."""
        try:
            channel = self.connection.default_channel
            for queue in (self.queue, self.dead_letters):
                _, ready, _ = channel.queue_declare(queue.name, passive=True)
                DEPTH.labels(queue.name).set(ready)
        except Exception as error:  # a broker away is the consumer loop's to notice
            logger.debug("queue depth unknown: %s", error)


def consume(
    queue_name: str,
    handle: Handler,
    *,
    stop: threading.Event,
    on_idle: Callable[[], object] = lambda: None,
) -> None:
    """Consume the queue `queue_name` (a QUEUE_BINDINGS key) from the broker of EVENTS_BROKER_URL with
    `handle` until `stop` is set, connecting again after a broker failure."""
    url = shared_settings.EVENTS_BROKER_URL
    with broker_connection(url) as connection:
        consumer = EventConsumer(
            connection, consumer_queue(queue_name, url), handle, stop=stop, on_idle=on_idle
        )
        # kombu's ConsumerMixin.run is unannotated: called through a typed view of it.
        run = cast(Callable[[], object], consumer.run)
        run()


class _Stopping(Exception):
    """Asked to stop while waiting for the database: the message goes back to the queue."""


_ROUTING_KEY_HEADER = "x-first-routing-key"
"""The routing key a message was first published with, kept on a copy that the filesystem transport's
requeue sends straight to the queue."""


def _routing_key(message: Message) -> str:
    """The routing key the message was published with, also after a requeue on the filesystem transport."""
    kept = (message.headers or {}).get(_ROUTING_KEY_HEADER)
    return str(kept) if kept else str(message.delivery_info.get("routing_key", ""))


def _identity(message: Message) -> str:
    """What a message's failures are counted by: its id, or for a message without one its body (a
    redelivery gets a new delivery tag)."""
    message_id = message.properties.get("message_id")
    if message_id:
        return str(message_id)
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _timestamp(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return time.time()

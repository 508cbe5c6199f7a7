"""The broker as the services see it: one kombu connection per process, and the topology (the
services' topic exchanges, the consumers' queues and the dead-letter queue they share) declared by
the processes that use it.

EVENTS_BROKER_URL names it. `amqp://user:password@host:5672/vhost` is RabbitMQ, the production
broker: publisher confirms on, durable exchanges, quorum queues with a delivery limit and a
dead-letter exchange. `filesystem://` (the embedded default) is kombu's filesystem transport under
EVENTS_BROKER_FOLDER, each message written whole before it can be read (chassis/events/filesystem.py):
the same publishing and consuming code, no server, one machine. It has no quorum queues and no
broker-side delivery limit, and a message a consumer holds when it is killed is gone (RabbitMQ would
deliver it again); docs/events.md says where each difference shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kombu import Connection, Exchange, Queue, binding
from kombu.transport import filesystem

from chassis.conf import shared_settings
from chassis.events.filesystem import Transport as FilesystemTransport
from saga_contract.events import (
    BROKER_DELIVERY_LIMIT,
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    EXCHANGES,
    QUEUE_BINDINGS,
    SOURCES,
)


def is_filesystem(url: str) -> bool:
    return url.startswith("filesystem:")


def on_filesystem(connection: Connection) -> bool:
    """Whether `connection` is to the embedded broker: its URI names the transport's class, not
    `filesystem://`."""
    return isinstance(connection.transport, filesystem.Transport)


def broker_connection(url: str | None = None, folder: Path | None = None) -> Connection:
    """A new, not yet connected, connection to the broker of EVENTS_BROKER_URL (or `url`); every
    publish on it waits for the broker's confirm."""
    url = url or shared_settings.EVENTS_BROKER_URL
    if is_filesystem(url):
        folder = Path(folder or shared_settings.EVENTS_BROKER_FOLDER)
        messages, control = folder / "messages", folder / "control"
        for directory in (messages, control):
            directory.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {
            "data_folder_in": str(messages),
            "data_folder_out": str(messages),
            "control_folder": str(control),
            "polling_interval": 0.25,  # how often an idle consumer looks for a message file
        }
        return Connection("localhost", transport=FilesystemTransport, transport_options=options)
    return Connection(
        url,
        heartbeat=shared_settings.EVENTS_BROKER_HEARTBEAT_SECONDS,
        connect_timeout=shared_settings.EVENTS_BROKER_CONNECT_TIMEOUT_SECONDS,
        transport_options={"confirm_publish": True},
    )


def without_password(url: str) -> str:
    """The broker's URL with its password left out, for logs and banners."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.partition(':')[0]}{at}{host}" if at else url


def service_exchange(service: str) -> Exchange:
    """A service's topic exchange: durable, routing key = event type."""
    return Exchange(EXCHANGES[service], type="topic", durable=True)


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)


def _queue_arguments(url: str, *, dead_lettered: bool) -> dict[str, Any] | None:
    if is_filesystem(url):
        return None
    arguments: dict[str, Any] = {"x-queue-type": "quorum"}
    if dead_lettered:
        arguments |= {
            "x-delivery-limit": BROKER_DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": DEAD_LETTER_QUEUE,
        }
    return arguments


def consumer_queue(name: str, url: str) -> Queue:
    """A consumer's queue (a QUEUE_BINDINGS key), bound to its events on their publishers' exchanges;
    a message that fails there too often goes to the dead-letter exchange."""
    return Queue(
        name,
        bindings=[
            binding(service_exchange(SOURCES[event_type]), routing_key=event_type)
            for event_type in QUEUE_BINDINGS[name]
        ],
        durable=True,
        queue_arguments=_queue_arguments(url, dead_lettered=True),
    )


def dead_letter_queue(url: str) -> Queue:
    """Where the messages that failed too often wait for a person."""
    return Queue(
        DEAD_LETTER_QUEUE,
        exchange=dead_letter_exchange(),
        routing_key=DEAD_LETTER_QUEUE,
        durable=True,
        queue_arguments=_queue_arguments(url, dead_lettered=False),
    )

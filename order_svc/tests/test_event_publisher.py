"""The event publisher against a real broker: RabbitMQ where one answers on 127.0.0.1:5672 (CI has
one), and kombu's filesystem transport, the embedded default. Each event recorded with an order's
change reaches the service's topic exchange once, persistent, in the order recorded, with its
envelope and the trace context; it is marked published only once the broker has confirmed it."""

from __future__ import annotations

import json
import threading
import uuid

import kombu.exceptions
import pytest
from django.db import connection
from kombu import Connection, Exchange, Queue
from orders import services

from chassis.events.broker import broker_connection
from chassis.events.models import OutboxEvent
from chassis.events.publisher import EventPublisher, leadership
from infra.broker import broker_reachable
from saga_contract.events import EVENT_VERSION, EXCHANGES, EventType

pytestmark = pytest.mark.django_db(transaction=True)

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
BROKERS = [
    pytest.param("filesystem://", id="filesystem"),
    pytest.param(
        RABBITMQ,
        id="rabbitmq",
        marks=pytest.mark.skipif(not broker_reachable(RABBITMQ), reason="no RabbitMQ on 127.0.0.1:5672"),
    ),
]


@pytest.fixture(params=BROKERS)
def broker(request, settings, tmp_path):
    settings.EVENTS_BROKER_URL = request.param
    settings.EVENTS_BROKER_FOLDER = tmp_path / "broker"
    return request.param


@pytest.fixture
def listening(broker):
    """A queue of this test's own bound to every order event, declared before anything is published."""
    connection: Connection = broker_connection()
    queue = Queue(
        f"test-{uuid.uuid4().hex[:12]}",
        Exchange(EXCHANGES["order_svc"], type="topic", durable=True),
        routing_key="order.#",
        auto_delete=broker != "filesystem://",
    )
    queue(connection.default_channel).declare()
    yield connection.SimpleQueue(queue)
    if broker != "filesystem://":
        queue(connection.default_channel).delete()
    connection.release()


def received(simple_queue, count: int) -> list:
    messages = []
    for _ in range(count):
        message = simple_queue.get(timeout=5)
        message.ack()
        messages.append(message)
    with pytest.raises(simple_queue.Empty):
        simple_queue.get(timeout=0.3)
    return messages


def test_each_event_reaches_the_exchange_once_in_order_and_is_marked_published(broker, listening):
    orders = [services.order_place(customer_id="alice", items=[("MUG", n)]) for n in (1, 2, 3)]
    publisher = EventPublisher("order_svc")
    try:
        assert publisher.publish_due() == 3
        assert publisher.publish_due() == 0, "a published event is not sent again"
    finally:
        publisher.disconnect()

    messages = received(listening, 3)
    if broker == "filesystem://":
        # The filesystem transport names each message file after the millisecond it was written in,
        # then a random id: messages of one millisecond come out in any order (docs/events.md).
        messages.sort(key=lambda message: [str(o.id) for o in orders].index(json.loads(message.body)["key"]))
    bodies = [json.loads(message.body) for message in messages]
    assert [body["key"] for body in bodies] == [str(order.id) for order in orders]
    events = list(OutboxEvent.objects.order_by("sequence"))
    for body, event, message, order in zip(bodies, events, messages, orders, strict=True):
        assert body == {
            "id": str(event.event_id),
            "type": EventType.ORDER_PLACED,
            "version": EVENT_VERSION,
            "key": str(order.id),
            "source": "order_svc",
            "occurred_at": event.occurred_at.isoformat(),
            "data": {
                "order_id": str(order.id),
                "customer_id": "alice",
                "items": [{"sku": "MUG", "quantity": event.data["items"][0]["quantity"]}],
                "currency": "USD",
            },
        }
        assert message.properties["message_id"] == body["id"]
        assert message.properties["delivery_mode"] == 2, "persistent"
        assert message.delivery_info["routing_key"] == "order.placed"
        assert event.published_at is not None
        assert event.attempts == 1


def test_a_broker_that_does_not_answer_leaves_the_event_waiting_with_its_error(settings):
    settings.EVENTS_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"  # nothing listens on port 1
    services.order_place(customer_id="alice", items=[("MUG", 1)])
    publisher = EventPublisher("order_svc")

    with pytest.raises(kombu.exceptions.OperationalError, match="refused"):
        publisher.publish_due()

    event = OutboxEvent.objects.get()
    assert event.published_at is None
    assert event.attempts == 1
    assert "refused" in event.last_error.lower()


def test_one_publisher_of_a_service_leads_and_a_second_one_waits():
    stop_waiting = threading.Event()
    stop_waiting.set()  # the second asks once, and gives up at once
    with leadership("order_svc", threading.Event()) as first:
        assert first is not None
        assert first()
        with leadership("order_svc", stop_waiting) as second:
            assert second is None
        with leadership("payment_svc", stop_waiting) as other_service:
            assert other_service is not None, "each service has a lock of its own"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the lock is a PostgreSQL session's")
def test_a_publisher_whose_lock_went_with_its_connection_knows_it():
    with leadership("order_svc", threading.Event()) as still_held:
        assert still_held is not None
        with connection.cursor() as cursor:
            # The lock holder's connection dies, as in a database restart: only this test database's.
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND pid <> pg_backend_pid()"
            )
        assert not still_held()
        with leadership("order_svc", threading.Event()) as again:
            assert again is not None, "the place is free for the next publisher"

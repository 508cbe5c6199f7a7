"""Integration events on the real stack: an order's changes reach the broker as the AsyncAPI document
says, notification_svc hears of each final order once and mails the customer through a real SMTP
server, a duplicated message has no second effect, a poisoned one ends in the dead-letter queue, and
the order's trace runs on through the broker into the mail.

The broker is RabbitMQ where one answers on 127.0.0.1:5672 (CI has one); the tests that read the
broker's queues themselves need it, the others run on the embedded transport as well.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange, Producer, Queue

from chassis.events.broker import dead_letter_queue
from infra.broker import queue_depths
from infra.mail import MailSink, ReceivedMail
from infra.stack import Stack
from observability.tracing import order_traces, read_spans
from saga_contract.events import DEAD_LETTER_QUEUE, EXCHANGES, MAX_HANDLING_FAILURES
from tests.support.api import Api, unique
from tests.support.asyncapi import load_document, validate_message
from tests.support.broker import NO_RABBITMQ, RABBITMQ
from tests.support.waiting import wait_for

needs_rabbitmq = pytest.mark.skipif(not RABBITMQ, reason=NO_RABBITMQ)


def notifications_of(api: Api, order_id: str) -> list[dict[str, Any]]:
    return api.notification.check(
        api.notification.get("/api/v1/notifications", params={"order_id": order_id})
    )["results"]


def sent_notification(api: Api, order_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The order's one notification, once it is SENT."""
    found: list[dict[str, Any]] = []

    def sent() -> bool:
        found[:] = notifications_of(api, order_id)
        return len(found) == 1 and found[0]["status"] == "SENT"

    wait_for(sent, timeout=timeout, what=f"the notification of order {order_id} sent")
    return found[0]


def mails_for(mail: MailSink, order_id: str) -> list[ReceivedMail]:
    return [message for message in mail.messages() if message.header("X-Order-Id") == order_id]


def shop(api: Api, *, on_hand: int = 10, balance: int = 100_000) -> tuple[str, str]:
    sku = api.create_product(price_cents=1_250, on_hand=on_hand)["sku"]
    customer = api.create_account(balance_cents=balance)["customer_id"]
    return sku, customer


def test_a_confirmed_order_is_mailed_to_its_customer_once_and_listed_for_them(api: Api, mail: MailSink):
    sku, customer = shop(api)
    order = api.place_order(customer, {sku: 2})
    assert api.wait_for_final(order["id"])["status"] == "CONFIRMED"

    notification = sent_notification(api, order["id"])
    assert notification["type"] == "order.confirmed"
    [message] = mails_for(mail, order["id"])
    assert message.recipients == [notification["recipient"]]
    assert customer in notification["recipient"]
    text = message.message.get_body(preferencelist=("plain",)).get_content()
    assert sku in text
    assert "25.00" in text  # the total, 2 × 12.50
    assert message.message.get_body(preferencelist=("html",)) is not None

    own = api.keys.customer_token(customer)
    with api.notification.__class__("notification_svc", api.urls["notification"], token=own) as as_customer:
        listed = as_customer.check(as_customer.get("/api/v1/notifications"))["results"]
        assert [n["order_id"] for n in listed] == [order["id"]]
        assert "attempts" not in listed[0], "a customer sees no delivery internals"
    with api.notification.__class__(
        "notification_svc", api.urls["notification"], token=api.keys.customer_token(unique("stranger"))
    ) as stranger:
        assert stranger.check(stranger.get("/api/v1/notifications"))["results"] == []
        assert stranger.get(f"/api/v1/notifications/{notification['id']}").status_code == 404


def test_a_cancelled_order_is_mailed_with_its_reason_in_words(api: Api, mail: MailSink):
    sku, customer = shop(api, balance=100)  # too little money: payment declined
    order = api.place_order(customer, {sku: 1})
    assert api.wait_for_final(order["id"])["cancellation_reason"] == "payment_declined"

    notification = sent_notification(api, order["id"])
    assert notification["type"] == "order.cancelled"
    [message] = mails_for(mail, order["id"])
    assert "payment" in message.message.get_body(preferencelist=("plain",)).get_content().lower()


@pytest.fixture
def broker(stack: Stack) -> Iterator[Connection]:
    with Connection(stack.config.broker_url, connect_timeout=5) as connection:
        yield connection


@pytest.fixture
def tap(broker: Connection) -> Iterator[Queue]:
    """A queue of this test's own bound to every service's exchange: what is really published."""
    queue = Queue(
        f"tap-{uuid.uuid4().hex[:10]}",
        bindings=[],
        auto_delete=True,
    )
    channel = broker.channel()
    queue = queue(channel)
    queue.declare()
    for exchange in EXCHANGES.values():
        Exchange(exchange, type="topic", durable=True)(channel).declare()
        queue.bind_to(exchange=exchange, routing_key="#")
    yield queue
    queue.delete()


def drain(queue: Queue, *, until: Any, timeout: float = 30.0) -> list[Any]:
    """Messages from `queue` until `until(messages)` holds (or AssertionError after `timeout`)."""
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    while not until(messages):
        assert time.monotonic() < deadline, (
            f"only {len(messages)} messages came: {[m.body for m in messages]}"
        )
        message = queue.get(no_ack=True)
        if message is None:
            time.sleep(0.1)
        else:
            messages.append(message)
    return messages


@needs_rabbitmq
def test_what_is_published_is_what_the_asyncapi_document_says(api: Api, tap: Queue):
    sku, customer = shop(api, on_hand=6)  # a reservation of 3 brings it below the threshold of 5
    order = api.place_order(customer, {sku: 3})
    assert api.wait_for_final(order["id"])["status"] == "CONFIRMED"
    wanted = {"order.placed", "order.confirmed", "payment.captured", "stock.low"}

    def mine(message: Any) -> bool:
        data = json.loads(message.body)["data"]
        return data.get("order_id") == order["id"] or data.get("sku") == sku

    messages = drain(tap, until=lambda got: wanted <= {json.loads(m.body)["type"] for m in got if mine(m)})

    document = load_document()
    for message in messages:
        validate_message(
            document,
            exchange=message.delivery_info["exchange"],
            routing_key=message.delivery_info["routing_key"],
            body=json.loads(message.body),
            headers=message.headers,
        )
        assert message.properties["delivery_mode"] == 2
    types = [json.loads(m.body)["type"] for m in messages if mine(m)]
    assert types.index("order.placed") < types.index("order.confirmed"), "an order's events keep their order"


@needs_rabbitmq
def test_a_duplicated_message_has_no_second_effect(api: Api, mail: MailSink, broker: Connection, tap: Queue):
    sku, customer = shop(api)
    order = api.place_order(customer, {sku: 1})
    api.wait_for_final(order["id"])
    sent_notification(api, order["id"])
    [confirmed] = [
        m
        for m in drain(
            tap, until=lambda got: any(json.loads(m.body)["type"] == "order.confirmed" for m in got)
        )
        if json.loads(m.body)["type"] == "order.confirmed"
    ]

    # The very message again, as a publisher that died before marking it would send it.
    Producer(broker.channel()).publish(
        confirmed.body,
        exchange=EXCHANGES["order_svc"],
        routing_key="order.confirmed",
        content_type="application/json",
        headers=confirmed.headers,
        message_id=confirmed.properties["message_id"],
    )
    time.sleep(3)  # the notifier takes it within a second; give it three

    assert len(notifications_of(api, order["id"])) == 1
    assert len(mails_for(mail, order["id"])) == 1


@needs_rabbitmq
def test_a_message_that_keeps_failing_lands_in_the_dead_letter_queue(
    api: Api, stack: Stack, broker: Connection
):
    poison = {"id": str(uuid.uuid4()), "type": "order.confirmed", "version": 1, "data": {"order_id": "nope"}}
    Producer(broker.channel()).publish(
        json.dumps(poison),
        exchange=EXCHANGES["order_svc"],
        routing_key="order.confirmed",
        content_type="application/json",
    )
    wait_for(
        lambda: queue_depths(stack.config.broker_url, [DEAD_LETTER_QUEUE]).get(DEAD_LETTER_QUEUE) == 1,
        timeout=30,
        what="the poisoned message in the dead-letter queue",
    )
    channel = broker.channel()
    dead = dead_letter_queue(stack.config.broker_url)(channel).get(no_ack=True)
    assert dead is not None
    assert json.loads(dead.body) == poison
    assert dead.headers.get("x-failures") == MAX_HANDLING_FAILURES, dead.headers
    assert "envelope" in dead.headers["x-failure"].lower() or "missing" in dead.headers["x-failure"]
    metrics = api.notification.http.get("/metrics").text
    assert 'events_dead_lettered_total{queue="notification.order-events"} 1.0' in metrics


def test_the_orders_trace_runs_through_the_broker_into_the_mail(api: Api, stack: Stack):
    sku, customer = shop(api)
    order = api.place_order(customer, {sku: 1})
    api.wait_for_final(order["id"])
    sent_notification(api, order["id"])

    def traced() -> bool:
        names = {
            span["name"]
            for trace in order_traces(read_spans(stack.config.var_dir / "traces"), order["id"])
            for span in trace
        }
        return {"publish order.confirmed", "receive order.confirmed", "notification: send email"} <= names

    wait_for(traced, timeout=15, what="the publish, receive and send spans in the order's trace")

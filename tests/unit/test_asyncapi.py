"""docs/asyncapi.yaml against saga_contract.events: the document is well formed, has one channel per
event type on its publisher's exchange and one per consumer's queue, describes exactly the fields the
contract's TypedDicts have, and its schemas accept a correct message and refuse a wrong one.
"""

from __future__ import annotations

import copy
import re
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NotRequired, Required, Union, get_args, get_origin, get_type_hints

import pytest

# jsonschema ships no type information, and no stubs for it are installed.
from jsonschema import Draft7Validator  # type: ignore[import-untyped]

from saga_contract import CUSTOMER_ID_PATTERN, CancellationReason
from saga_contract.events import (
    BROKER_DELIVERY_LIMIT,
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    EMAIL_PATTERN,
    EVENT_VERSION,
    EXCHANGES,
    MAX_EMAIL_LENGTH,
    MAX_HANDLING_FAILURES,
    NOTIFICATION_QUEUE,
    PAYMENT_QUEUE,
    QUEUE_BINDINGS,
    SOURCES,
    TRACE_HEADERS,
    CustomerRegisteredData,
    Envelope,
    EventType,
    InvalidEnvelope,
    OrderCancelledData,
    OrderCancelRequestedData,
    OrderConfirmedData,
    OrderPlacedData,
    PaymentData,
    PricedLineData,
    StockLowData,
    customer_registered_data,
    parse_envelope,
)
from tests.support.asyncapi import (
    channel_for,
    headers_schema,
    inline_refs,
    load_document,
    message_for,
    message_schema,
    resolve_pointer,
    validate_message,
)

DOCUMENT = load_document()
SCHEMAS = "#/components/schemas/"

DATA_TYPES: dict[EventType, type] = {
    EventType.ORDER_PLACED: OrderPlacedData,
    EventType.ORDER_CONFIRMED: OrderConfirmedData,
    EventType.ORDER_CANCELLED: OrderCancelledData,
    EventType.ORDER_CANCEL_REQUESTED: OrderCancelRequestedData,
    EventType.PAYMENT_CAPTURED: PaymentData,
    EventType.PAYMENT_VOIDED: PaymentData,
    EventType.STOCK_LOW: StockLowData,
    EventType.CUSTOMER_REGISTERED: CustomerRegisteredData,
}
KEY_SCHEMAS: dict[EventType, str] = {EventType.STOCK_LOW: "Sku", EventType.CUSTOMER_REGISTERED: "CustomerId"}
"""The schema of an event's key where it is not an order's id (a Uuid)."""
QUEUE_OWNERS = {NOTIFICATION_QUEUE: "notification_svc", PAYMENT_QUEUE: "payment_svc"}
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


# The document's structure.


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for name, item in value.items():
            if name == "$ref":
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _exchange_channels() -> dict[str, dict[str, Any]]:
    """The channels that are a routing key on an exchange, by id, with their references resolved."""
    channels = inline_refs(DOCUMENT, DOCUMENT["channels"])
    return {
        channel_id: channel
        for channel_id, channel in channels.items()
        if channel["bindings"]["amqp"].get("is", "routingKey") == "routingKey"
    }


def _queue_channel(queue: str) -> tuple[str, dict[str, Any]]:
    channels = inline_refs(DOCUMENT, DOCUMENT["channels"])
    matches = [
        (channel_id, channel) for channel_id, channel in channels.items() if channel["address"] == queue
    ]
    assert len(matches) == 1, f"{len(matches)} channels have the address {queue!r}"
    return matches[0]


def test_the_document_is_asyncapi_3_0() -> None:
    assert re.fullmatch(r"3\.0\.\d+", DOCUMENT["asyncapi"])
    assert DOCUMENT["info"]["title"]
    assert DOCUMENT["info"]["version"]
    assert DOCUMENT["defaultContentType"] == "application/json"


def test_every_reference_resolves() -> None:
    refs = set(_refs(DOCUMENT))
    assert refs, "the document uses no references"
    for ref in refs:
        resolve_pointer(DOCUMENT, ref)
    # And none leads back to itself: the whole document can be inlined.
    inline_refs(DOCUMENT, DOCUMENT)


def test_every_schema_is_a_valid_json_schema() -> None:
    for name in DOCUMENT["components"]["schemas"]:
        Draft7Validator.check_schema(inline_refs(DOCUMENT, {"$ref": SCHEMAS + name}))
    for message in DOCUMENT["components"]["messages"].values():
        resolved = inline_refs(DOCUMENT, message)
        assert resolved["contentType"] == "application/json"
        Draft7Validator.check_schema(resolved["payload"])
        Draft7Validator.check_schema(resolved["headers"])
        assert resolved["headers"]["type"] == "object"


def test_channels_name_existing_messages() -> None:
    for channel_id, channel in DOCUMENT["channels"].items():
        assert channel["messages"], f"channel {channel_id} carries no message"
        for message in channel["messages"].values():
            assert message["$ref"].startswith("#/components/messages/"), channel_id
            resolve_pointer(DOCUMENT, message["$ref"])


def test_operations_name_existing_channels_and_their_messages() -> None:
    for operation_id, operation in DOCUMENT["operations"].items():
        assert operation["action"] in {"send", "receive"}, operation_id
        channel_ref = operation["channel"]["$ref"]
        assert re.fullmatch(r"#/channels/[^/]+", channel_ref), operation_id
        resolve_pointer(DOCUMENT, channel_ref)
        assert operation["messages"], f"operation {operation_id} names no message"
        for message in operation["messages"]:
            # An operation's messages must be messages of its own channel.
            assert message["$ref"].startswith(f"{channel_ref}/messages/"), operation_id
            resolve_pointer(DOCUMENT, message["$ref"])


# Channels, exchanges and operations against the contract.


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_has_one_channel_on_its_publishers_exchange(event_type: EventType) -> None:
    exchange = EXCHANGES[SOURCES[event_type]]
    matches = [
        channel
        for channel in _exchange_channels().values()
        if (channel["bindings"]["amqp"]["exchange"]["name"], channel["address"])
        == (exchange, event_type.value)
    ]
    assert len(matches) == 1, f"{len(matches)} channels carry {event_type} on {exchange}"
    [message] = matches[0]["messages"].values()
    assert message["name"] == event_type.value


def test_every_exchange_channel_carries_a_known_event_type_on_its_publishers_exchange() -> None:
    for channel_id, channel in _exchange_channels().items():
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert exchange["name"] in EXCHANGES.values(), channel_id
        assert channel["address"] in set(EventType), (
            f"{channel_id}: unknown event type {channel['address']!r}"
        )
        assert exchange["name"] == EXCHANGES[SOURCES[EventType(channel["address"])]], channel_id
        assert (exchange["type"], exchange["durable"], exchange["autoDelete"]) == ("topic", True, False)


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_is_sent_by_its_publisher_only(event_type: EventType) -> None:
    channel = next(
        channel_id for channel_id, channel in _exchange_channels().items() if channel["address"] == event_type
    )
    operations = [
        inline_refs(DOCUMENT, operation)
        for operation in DOCUMENT["operations"].values()
        if operation["channel"]["$ref"] == f"#/channels/{channel}"
    ]
    assert len(operations) == 1, f"{len(operations)} operations use the channel of {event_type}"
    [operation] = operations
    assert operation["action"] == "send"
    assert [tag["name"] for tag in operation["tags"]] == [SOURCES[event_type]]
    assert operation["bindings"]["amqp"]["deliveryMode"] == 2


def test_every_consumer_queue_is_described_and_has_an_owner() -> None:
    assert set(QUEUE_OWNERS) == set(QUEUE_BINDINGS)


@pytest.mark.parametrize("queue", list(QUEUE_BINDINGS))
def test_every_consumer_queue_binds_exactly_its_events(queue: str) -> None:
    events = QUEUE_BINDINGS[queue]
    channel_id, channel = _queue_channel(queue)
    amqp = channel["bindings"]["amqp"]
    assert amqp["is"] == "queue"
    assert (amqp["queue"]["name"], amqp["queue"]["durable"]) == (queue, True)
    bound = {(binding["exchange"], binding["routingKey"]) for binding in amqp["x-bindings"]}
    assert len(bound) == len(amqp["x-bindings"])
    assert bound == {(EXCHANGES[SOURCES[event_type]], event_type.value) for event_type in events}
    assert {message["name"] for message in channel["messages"].values()} == set(events)

    received = [
        inline_refs(DOCUMENT, operation)
        for operation in DOCUMENT["operations"].values()
        if operation["channel"]["$ref"] == f"#/channels/{channel_id}"
    ]
    assert all(operation["action"] == "receive" for operation in received)
    assert all([tag["name"] for tag in operation["tags"]] == [QUEUE_OWNERS[queue]] for operation in received)
    assert sorted(message["name"] for operation in received for message in operation["messages"]) == sorted(
        events
    )


@pytest.mark.parametrize("queue", list(QUEUE_BINDINGS))
def test_every_consumer_queue_states_the_contracts_limits(queue: str) -> None:
    _, channel = _queue_channel(queue)
    arguments = channel["bindings"]["amqp"]["x-arguments"]
    assert arguments["x-queue-type"] == "quorum"
    assert arguments["x-delivery-limit"] == BROKER_DELIVERY_LIMIT
    assert arguments["x-dead-letter-exchange"] == DEAD_LETTER_EXCHANGE
    assert f"after {MAX_HANDLING_FAILURES} failed handlings" in channel["description"]
    assert f"delivered {BROKER_DELIVERY_LIMIT} times" in channel["description"]


def test_the_dead_letter_queue_holds_the_events_of_every_consumer_queue() -> None:
    _, channel = _queue_channel(DEAD_LETTER_QUEUE)
    amqp = channel["bindings"]["amqp"]
    assert amqp["is"] == "queue"
    assert (amqp["queue"]["name"], amqp["queue"]["durable"]) == (DEAD_LETTER_QUEUE, True)
    assert f"`{DEAD_LETTER_EXCHANGE}`" in channel["description"]
    [message] = channel["messages"].values()
    types_held = {branch["allOf"][1]["properties"]["type"]["const"] for branch in message["payload"]["oneOf"]}
    assert types_held == {event_type.value for events in QUEUE_BINDINGS.values() for event_type in events}


# Schemas against the contract's TypedDicts.


def _required_and_optional(typed_dict: type) -> tuple[set[str], set[str]]:
    """A TypedDict's required and optional keys.

    Python 3.11 takes a `NotRequired[...]` written as a postponed annotation for a required key, so the
    qualifiers are read from the resolved hints too.
    """
    hints = get_type_hints(typed_dict, include_extras=True)
    optional = {
        name
        for name, hint in hints.items()
        if get_origin(hint) is NotRequired
        or (name in typed_dict.__optional_keys__ and get_origin(hint) is not Required)  # type: ignore[attr-defined]  # typeshed's TypedDict type lacks it
    }
    return set(hints) - optional, optional


def _json_types(hint: Any) -> set[str]:
    """The JSON Schema types a value of this Python type is written as."""
    origin = get_origin(hint)
    if origin in (NotRequired, Required):
        return _json_types(get_args(hint)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(_json_types(arg) for arg in get_args(hint)))
    if origin is list:
        return {"array"}
    if origin is dict:
        return {"object"}
    return {str: {"string"}, int: {"integer"}, bool: {"boolean"}, type(None): {"null"}}[hint]


def _schema_types(schema: dict[str, Any]) -> set[str]:
    kind = schema["type"]
    return {kind} if isinstance(kind, str) else set(kind)


def _assert_object_matches(schema: dict[str, Any], typed_dict: type, where: str) -> None:
    required, optional = _required_and_optional(typed_dict)
    assert schema["type"] == "object", where
    assert schema["additionalProperties"] is False, f"{where} must refuse fields it does not list"
    assert set(schema["properties"]) == required | optional, f"{where} and {typed_dict.__name__}"
    assert set(schema["required"]) == required, f"{where} and {typed_dict.__name__}"
    hints = get_type_hints(typed_dict)
    for name, property_schema in schema["properties"].items():
        assert _schema_types(property_schema) == _json_types(hints[name]), f"{where}.{name}"


def _event_branch(event_type: EventType) -> dict[str, Any]:
    """The part of an event's payload schema that narrows the envelope, references unresolved."""
    message = resolve_pointer(DOCUMENT, next(_message_refs(event_type)))
    event_schema = resolve_pointer(DOCUMENT, message["payload"]["$ref"])
    envelope, branch = event_schema["allOf"]
    assert envelope == {"$ref": SCHEMAS + "Envelope"}
    properties: dict[str, Any] = branch["properties"]
    return properties


def _message_refs(event_type: EventType) -> Iterator[str]:
    for name, message in DOCUMENT["components"]["messages"].items():
        if message["name"] == event_type:
            yield f"#/components/messages/{name}"


def test_the_envelope_schema_has_the_envelopes_fields() -> None:
    envelope = inline_refs(DOCUMENT, {"$ref": SCHEMAS + "Envelope"})
    _assert_object_matches(envelope, Envelope, "Envelope")
    assert set(envelope["properties"]["source"]["enum"]) == set(EXCHANGES)


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_data_schema_has_its_typed_dicts_fields(event_type: EventType) -> None:
    typed_dict = DATA_TYPES[event_type]
    assert _event_branch(event_type)["data"] == {"$ref": SCHEMAS + typed_dict.__name__}
    data = inline_refs(DOCUMENT, {"$ref": SCHEMAS + typed_dict.__name__})
    _assert_object_matches(data, typed_dict, typed_dict.__name__)

    # A list of lines is a list of its own TypedDict's schema.
    for name, hint in get_type_hints(typed_dict).items():
        if get_origin(hint) is list:
            [line_type] = get_args(hint)
            assert data["properties"][name]["items"] == inline_refs(
                DOCUMENT, {"$ref": SCHEMAS + line_type.__name__}
            )
            line = inline_refs(DOCUMENT, {"$ref": SCHEMAS + line_type.__name__})
            _assert_object_matches(line, line_type, line_type.__name__)


def test_placed_items_have_no_price_and_confirmed_lines_always_do() -> None:
    placed = inline_refs(DOCUMENT, {"$ref": SCHEMAS + "OrderPlacedData"})["properties"]["items"]["items"]
    confirmed = inline_refs(DOCUMENT, {"$ref": SCHEMAS + "OrderConfirmedData"})["properties"]["lines"][
        "items"
    ]
    assert "unit_price_cents" not in placed["properties"]
    assert "unit_price_cents" in confirmed["required"]
    assert set(PricedLineData.__annotations__) == set(confirmed["properties"])


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_payload_fixes_type_version_and_source(event_type: EventType) -> None:
    branch = _event_branch(event_type)
    assert branch["type"] == {"const": event_type.value}
    assert branch["version"] == {"const": EVENT_VERSION}
    assert branch["source"] == {"const": SOURCES[event_type]}
    assert branch["key"] == {"$ref": SCHEMAS + KEY_SCHEMAS.get(event_type, "Uuid")}


def test_shared_vocabulary_is_the_contracts() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["CustomerId"]["pattern"] == f"^{CUSTOMER_ID_PATTERN}$"
    assert schemas["Email"]["pattern"] == f"^{EMAIL_PATTERN}$"
    assert schemas["Email"]["maxLength"] == MAX_EMAIL_LENGTH
    assert schemas["CancellationReason"]["enum"] == [reason.value for reason in CancellationReason]
    assert tuple(schemas["TraceHeaders"]["properties"]) == TRACE_HEADERS
    assert schemas["TraceHeaders"]["additionalProperties"] is False


# validate_message: what it accepts and what it refuses.


def _data(event_type: EventType, order_id: str) -> dict[str, Any]:
    customer: dict[str, Any] = {"order_id": order_id, "customer_id": "alice@example.com"}
    payment = {**customer, "payment_id": str(uuid.uuid4()), "amount_cents": 3390, "currency": "USD"}
    by_type: dict[EventType, dict[str, Any]] = {
        EventType.ORDER_PLACED: {
            **customer,
            "items": [{"sku": "MUG-01", "quantity": 2}, {"sku": "TEA-07", "quantity": 1}],
            "currency": "USD",
        },
        EventType.ORDER_CONFIRMED: {
            **customer,
            "lines": [
                {"sku": "MUG-01", "quantity": 2, "unit_price_cents": 1250},
                {"sku": "TEA-07", "quantity": 1, "unit_price_cents": 890},
            ],
            "total_cents": 3390,
            "currency": "USD",
        },
        EventType.ORDER_CANCELLED: {
            **customer,
            "reason": CancellationReason.PAYMENT_DECLINED.value,
            "total_cents": 3390,
            "currency": "USD",
        },
        EventType.ORDER_CANCEL_REQUESTED: customer,
        EventType.PAYMENT_CAPTURED: payment,
        EventType.PAYMENT_VOIDED: payment,
        EventType.STOCK_LOW: {"sku": "MUG-01", "available": 3, "threshold": 5},
        EventType.CUSTOMER_REGISTERED: {"customer_id": "carol", "email": "carol.smith@mail.example.com"},
    }
    return by_type[event_type]


def envelope(event_type: EventType) -> dict[str, Any]:
    """A correct body of an event of `event_type`, as its publisher writes it."""
    order_id = str(uuid.uuid4())
    keys = {EventType.STOCK_LOW: "MUG-01", EventType.CUSTOMER_REGISTERED: "carol"}
    return {
        "id": str(uuid.uuid4()),
        "type": event_type.value,
        "version": EVENT_VERSION,
        "key": keys.get(event_type, order_id),
        "source": SOURCES[event_type],
        "occurred_at": "2026-12-02T14:00:00.123456+00:00",
        "data": _data(event_type, order_id),
    }


def _validate(event_type: EventType, body: Any, headers: dict[str, Any] | None = None) -> None:
    validate_message(
        DOCUMENT,
        exchange=EXCHANGES[SOURCES[event_type]],
        routing_key=event_type.value,
        body=body,
        headers={"traceparent": TRACEPARENT} if headers is None else headers,
    )


@pytest.mark.parametrize("event_type", list(EventType))
def test_a_correct_message_of_every_type_is_accepted(event_type: EventType) -> None:
    body = envelope(event_type)
    _validate(event_type, body)
    _validate(event_type, body, headers={})
    _validate(
        event_type, body, headers={"traceparent": TRACEPARENT, "tracestate": "a=1", "x-delivery-count": 1}
    )
    # What the document accepts, the contract's own reader accepts too.
    parse_envelope(body)


def test_the_documents_examples_are_correct_messages() -> None:
    examples = 0
    for event_type in EventType:
        for example in message_for(DOCUMENT, event_type).get("examples", []):
            _validate(event_type, example["payload"], example["headers"])
            parse_envelope(example["payload"])
            examples += 1
    assert examples >= len(EventType)


def test_a_cancelled_order_may_have_no_total_but_a_confirmed_one_must() -> None:
    cancelled = envelope(EventType.ORDER_CANCELLED)
    cancelled["data"]["total_cents"] = None
    _validate(EventType.ORDER_CANCELLED, cancelled)
    confirmed = envelope(EventType.ORDER_CONFIRMED)
    confirmed["data"]["total_cents"] = None
    with pytest.raises(AssertionError, match="total_cents"):
        _validate(EventType.ORDER_CONFIRMED, confirmed)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for name in parents:
            target = target[int(name)] if isinstance(target, list) else target[name]
        target[last] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for name in parents:
            target = target[int(name)] if isinstance(target, list) else target[name]
        del target[last]

    return change


WRONG_BODIES = [
    pytest.param(EventType.ORDER_PLACED, _set("type", "order.confirmed"), id="type-of-another-channel"),
    pytest.param(EventType.STOCK_LOW, _set("type", "stock.high"), id="unknown-type"),
    pytest.param(EventType.ORDER_CONFIRMED, _delete("data.total_cents"), id="missing-data-field"),
    pytest.param(EventType.PAYMENT_VOIDED, _delete("data.payment_id"), id="missing-payment-id"),
    pytest.param(EventType.ORDER_CANCELLED, _set("data.refund_cents", 0), id="extra-data-field"),
    pytest.param(
        EventType.ORDER_PLACED, _set("data.items.0.unit_price_cents", 1250), id="price-in-placed-item"
    ),
    pytest.param(
        EventType.ORDER_CONFIRMED, _delete("data.lines.1.unit_price_cents"), id="confirmed-line-no-price"
    ),
    pytest.param(EventType.ORDER_PLACED, _set("version", 2), id="wrong-version"),
    pytest.param(EventType.PAYMENT_CAPTURED, _set("source", "order_svc"), id="wrong-source"),
    pytest.param(EventType.ORDER_CANCEL_REQUESTED, _delete("occurred_at"), id="missing-envelope-field"),
    pytest.param(EventType.ORDER_CANCEL_REQUESTED, _set("trace_id", "abc"), id="extra-envelope-field"),
    pytest.param(EventType.STOCK_LOW, _set("occurred_at", "2026-12-02T14:00:00"), id="time-without-offset"),
    pytest.param(EventType.ORDER_PLACED, _set("id", "not-a-uuid"), id="id-not-a-uuid"),
    pytest.param(EventType.ORDER_CONFIRMED, _set("data.customer_id", "a b"), id="customer-id-pattern"),
    pytest.param(EventType.ORDER_CONFIRMED, _set("data.currency", "usd"), id="currency-lower-case"),
    pytest.param(EventType.ORDER_PLACED, _set("data.items.0.quantity", 0), id="quantity-zero"),
    pytest.param(EventType.PAYMENT_CAPTURED, _set("data.amount_cents", -1), id="negative-amount"),
    pytest.param(EventType.PAYMENT_CAPTURED, _set("data.amount_cents", 12.5), id="fractional-amount"),
    pytest.param(EventType.ORDER_CANCELLED, _set("data.reason", "changed_mind"), id="unknown-reason"),
    pytest.param(EventType.ORDER_PLACED, _set("data.items", []), id="no-items"),
    pytest.param(EventType.ORDER_CONFIRMED, _set("key", str(uuid.uuid4())), id="key-not-the-order"),
    pytest.param(EventType.STOCK_LOW, _set("key", "TEA-07"), id="key-not-the-sku"),
    pytest.param(EventType.CUSTOMER_REGISTERED, _set("key", "dave"), id="key-not-the-customer"),
    pytest.param(
        EventType.CUSTOMER_REGISTERED, _set("data.email", "Carol@Example.com"), id="email-upper-case"
    ),
    pytest.param(EventType.CUSTOMER_REGISTERED, _delete("data.email"), id="missing-email"),
]


@pytest.mark.parametrize(("event_type", "change"), WRONG_BODIES)
def test_a_wrong_body_is_refused(event_type: EventType, change: Callable[[dict[str, Any]], None]) -> None:
    body = envelope(event_type)
    _validate(event_type, copy.deepcopy(body))
    change(body)
    with pytest.raises(AssertionError, match=f"{re.escape(event_type.value)} on "):
        _validate(event_type, body)


@pytest.mark.parametrize(
    "email",
    ["carol@example.com", "c.smith+shop@mail.example.co.uk", "o'brien@example.ie", "zoë@exämple.de"],
)
def test_an_address_the_document_accepts_the_contracts_reader_accepts(email: str) -> None:
    body = envelope(EventType.CUSTOMER_REGISTERED)
    body["data"]["email"] = email
    _validate(EventType.CUSTOMER_REGISTERED, body)
    assert customer_registered_data(parse_envelope(body))["email"] == email


@pytest.mark.parametrize(
    "email",
    [
        "Carol@example.com",
        " carol@example.com",
        "carol@localhost",
        "carol",
        "carol@@example.com",
        "carol@exam ple.com",
        "c" * 65 + "@example.com",
        "carol@" + "e" * 250 + ".com",
    ],
)
def test_an_address_the_document_refuses_the_contracts_reader_refuses(email: str) -> None:
    body = envelope(EventType.CUSTOMER_REGISTERED)
    body["data"]["email"] = email
    with pytest.raises(AssertionError, match=r"data\.email"):
        _validate(EventType.CUSTOMER_REGISTERED, body)
    with pytest.raises(InvalidEnvelope, match="email"):
        customer_registered_data(parse_envelope(body))


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(AssertionError, match="is not of type 'object'"):
        _validate(EventType.ORDER_PLACED, [envelope(EventType.ORDER_PLACED)])


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"traceparent": "00-abc-def-01"}, id="malformed-traceparent"),
        pytest.param({"tracestate": "a=1"}, id="tracestate-without-traceparent"),
        pytest.param({"traceparent": TRACEPARENT, "baggage": "a=1"}, id="unknown-header"),
    ],
)
def test_wrong_headers_are_refused(headers: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match=re.escape("wrong headers of order.placed on order.events")):
        _validate(EventType.ORDER_PLACED, envelope(EventType.ORDER_PLACED), headers)


@pytest.mark.parametrize(
    ("exchange", "routing_key"),
    [
        pytest.param("order.events", "order.shipped", id="unknown-routing-key"),
        pytest.param("shipping.events", "order.placed", id="unknown-exchange"),
        pytest.param("payment.events", "order.placed", id="another-services-exchange"),
        pytest.param(DEAD_LETTER_EXCHANGE, "order.confirmed", id="a-queue-is-not-an-exchange-channel"),
    ],
)
def test_a_message_on_an_unknown_channel_is_refused(exchange: str, routing_key: str) -> None:
    with pytest.raises(AssertionError, match="no channel of the document carries"):
        validate_message(
            DOCUMENT,
            exchange=exchange,
            routing_key=routing_key,
            body=envelope(EventType.ORDER_PLACED),
            headers={"traceparent": TRACEPARENT},
        )


def test_message_schema_is_self_contained() -> None:
    for event_type in EventType:
        assert not list(_refs(message_schema(DOCUMENT, event_type))), event_type
        assert not list(_refs(headers_schema(DOCUMENT, event_type))), event_type
        assert channel_for(DOCUMENT, exchange=EXCHANGES[SOURCES[event_type]], routing_key=event_type)

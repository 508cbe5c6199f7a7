"""Reading docs/asyncapi.yaml in tests: the document, one event's message schemas with every `$ref`
resolved, and a check that a message published to an exchange with a routing key is what the document
says that channel carries. The services never read the document; it describes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

# jsonschema ships no type information, and no stubs for it are installed.
from jsonschema import Draft7Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
"""The AsyncAPI document of the integration events."""

_KEY_EXPRESSION_PREFIX = "$message.payload#"


def load_document(path: Path = DOCUMENT) -> dict[str, Any]:
    """The AsyncAPI document at `path`, as plain dicts and lists."""
    with path.open(encoding="utf-8") as file:
        document = yaml.safe_load(file)
    assert isinstance(document, dict), f"{path} does not hold a YAML mapping"
    return document


def resolve_pointer(document: Mapping[str, Any], ref: str) -> Any:
    """What a local reference such as `#/components/schemas/Uuid` points at in `document`."""
    assert ref.startswith("#/"), f"{ref!r} is not a local reference"
    target: Any = document
    for token in ref[2:].split("/"):
        name = token.replace("~1", "/").replace("~0", "~")
        if isinstance(target, Mapping) and name in target:
            target = target[name]
        elif isinstance(target, list) and name.isdigit() and int(name) < len(target):
            target = target[int(name)]
        else:
            raise AssertionError(f"the reference {ref!r} points at nothing")
    return target


def inline_refs(document: Mapping[str, Any], value: Any, _seen: tuple[str, ...] = ()) -> Any:
    """`value` with every `$ref` replaced by what it points at, recursively.

    As in JSON Schema draft 7, the keywords beside a `$ref` are ignored. A reference that leads back to
    itself cannot be inlined and fails, as does one that points at nothing.
    """
    if isinstance(value, Mapping):
        ref = value.get("$ref")
        if isinstance(ref, str):
            assert ref not in _seen, f"the reference {ref!r} refers to itself through {' -> '.join(_seen)}"
            return inline_refs(document, resolve_pointer(document, ref), (*_seen, ref))
        return {name: inline_refs(document, item, _seen) for name, item in value.items()}
    if isinstance(value, list):
        return [inline_refs(document, item, _seen) for item in value]
    return value


def _messages(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for message in document.get("components", {}).get("messages", {}).values():
        yield inline_refs(document, message)


def message_for(document: Mapping[str, Any], event_type: str) -> dict[str, Any]:
    """The message of the document named `event_type`, with its references resolved."""
    matches = [message for message in _messages(document) if message.get("name") == event_type]
    assert len(matches) == 1, f"the document has {len(matches)} messages named {event_type!r}, not one"
    return matches[0]


def message_schema(document: Mapping[str, Any], event_type: str) -> dict[str, Any]:
    """The self-contained JSON Schema (draft 7) of the body of an event's messages."""
    payload: dict[str, Any] = message_for(document, event_type)["payload"]
    return payload


def headers_schema(document: Mapping[str, Any], event_type: str) -> dict[str, Any]:
    """The self-contained JSON Schema (draft 7) of the AMQP headers of an event's messages."""
    headers: dict[str, Any] = message_for(document, event_type)["headers"]
    return headers


def channel_for(document: Mapping[str, Any], *, exchange: str, routing_key: str) -> dict[str, Any]:
    """The channel that carries `routing_key` on `exchange`, with its references resolved."""
    channels = inline_refs(document, document.get("channels", {}))
    known = []
    for channel in channels.values():
        amqp = channel.get("bindings", {}).get("amqp", {})
        if amqp.get("is", "routingKey") != "routingKey":
            continue
        pair = (amqp.get("exchange", {}).get("name"), channel.get("address"))
        if pair == (exchange, routing_key):
            found: dict[str, Any] = channel
            return found
        known.append(f"{pair[1]} on {pair[0]}")
    raise AssertionError(
        f"no channel of the document carries {routing_key!r} on the exchange {exchange!r}; "
        f"it has {', '.join(sorted(known))}"
    )


def validate_message(
    document: Mapping[str, Any], *, exchange: str, routing_key: str, body: Any, headers: Mapping[str, Any]
) -> None:
    """Fail with an AssertionError that says what is wrong unless a message published to `exchange`
    with `routing_key` is one the document allows there.

    The exchange and routing key must be one of the document's channels; the body must match the
    payload schema of that channel's message, and the headers its headers schema; and the envelope's
    `key` must repeat the field of `data` that the message's `x-key` names.
    """
    channel = channel_for(document, exchange=exchange, routing_key=routing_key)
    messages = list(channel.get("messages", {}).values())
    where = f"{routing_key} on {exchange}"
    assert len(messages) == 1, f"the channel of {where} has {len(messages)} messages, not one"
    message = messages[0]
    _check(message["payload"], body, f"body of {where}")
    _check(message.get("headers", {"type": "object"}), dict(headers), f"headers of {where}")
    expression = message.get("x-key")
    if isinstance(expression, str):
        assert expression.startswith(_KEY_EXPRESSION_PREFIX), (
            f"x-key {expression!r} is not a payload expression"
        )
        pointer = expression.removeprefix(_KEY_EXPRESSION_PREFIX)
        keyed = resolve_pointer(body, "#" + pointer)
        assert body["key"] == keyed, (
            f"the body of {where} has the key {body['key']!r}, but {pointer} is {keyed!r}"
        )


def _check(schema: Mapping[str, Any], instance: Any, what: str) -> None:
    error = best_match(Draft7Validator(schema).iter_errors(instance))
    if error is not None:
        raise AssertionError(f"wrong {what} at {error.json_path}: {error.message}") from error

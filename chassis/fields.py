"""Strict serializers and fields: JSON types are checked, never coerced, and unknown fields refused.

DRF's IntegerField takes "5" and 5.0 and CharField takes 123, and a serializer silently drops
fields it does not know; at the edge of a money-and-stock system either is a client bug (or an
attempt: `"status": "CONFIRMED"`) and gets a clear 400. A query is read as strictly: a parameter
given without a value, or a number that is not written in digits, is a 400 too, never the default.
"""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from chassis.errors import DomainError
from saga_contract import CUSTOMER_ID_PATTERN


class StrictSerializer(serializers.Serializer[Any]):
    """A serializer that refuses fields it does not declare, nested ones included."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class QuerySerializer(serializers.Serializer[Any]):
    """The query of a GET. DRF reads a parameter given with no value (`?status=`) as one left out;
    here it is refused, because the schema promises a value of the parameter's type and an empty
    string is none."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            blank = sorted(name for name, _ in self.fields.items() if name in data and data[name] == "")
            if blank:
                raise serializers.ValidationError({name: ["Must not be empty."] for name in blank})
        return super().to_internal_value(data)


class QueryIntegerField(serializers.IntegerField):
    """A whole number in a query string, written in ASCII digits only: "5", never "5.0", "+5" or " 5"
    (which DRF's IntegerField would read as 5)."""

    default_error_messages = {"invalid": "Must be a whole number written in digits."}

    def to_internal_value(self, data: object) -> int:
        if not isinstance(data, str) or not (data.isascii() and data.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"type": "Must be a JSON integer."}

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("type")
        return super().to_internal_value(data)


class StrictNumberField(serializers.FloatField):
    """A JSON number, integer or fraction (FloatField already refuses NaN, infinity and overflow)."""

    default_error_messages = {"type": "Must be a JSON number."}

    def to_internal_value(self, data: object) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("type")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string kept as sent: nothing is trimmed, so that a value the schema allows (any string
    of its length without a NUL) is never refused as blank because it held only whitespace, "\x1e"
    say, as DRF's trimming would."""

    default_error_messages = {"type": "Must be a JSON string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("type")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    """A JSON string matching its pattern as sent: no surrounding whitespace is trimmed first, so that
    "alice\n" is refused as the schema's pattern refuses it, not read as "alice"."""

    default_error_messages = {"type": "Must be a JSON string."}

    def __init__(self, regex: str, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(regex, **kwargs)

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("type")
        return super().to_internal_value(data)


class CurrencyField(StrictRegexField):
    """ISO-4217 code, three upper-case letters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default", "USD")
        super().__init__(r"\A[A-Z]{3}\Z", **kwargs)


def sku_field(**kwargs: Any) -> StrictRegexField:
    """A SKU: 1–64 letters, digits, dots, dashes or underscores."""
    return StrictRegexField(r"\A[A-Za-z0-9._-]{1,64}\Z", max_length=64, **kwargs)


def customer_id_field(**kwargs: Any) -> StrictRegexField:
    """A customer id: 1–64 letters, digits or . _ @ - (saga_contract.CUSTOMER_ID_PATTERN)."""
    return StrictRegexField(rf"\A{CUSTOMER_ID_PATTERN}\Z", max_length=64, **kwargs)


class SkuRepeated(DomainError):
    """Lines whose objects the schema allows (no JSON Schema says "unique by one property"), which the
    rule of one line per SKU refuses: a 422, like any business rule, so that the body is not called
    malformed. `details.skus` names them."""

    status_code = 422
    code = "sku_repeated"
    message = "Each SKU may appear in one line only."


def unique_skus(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For `validate_items` of a serializer: each SKU at most once (SkuRepeated otherwise)."""
    skus = [item["sku"] for item in items]
    repeated = sorted({sku for sku in skus if skus.count(sku) > 1})
    if repeated:
        raise SkuRepeated(skus=repeated)
    return items

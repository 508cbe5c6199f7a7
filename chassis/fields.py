"""Strict serializers and fields: JSON types are checked, never coerced, and unknown fields refused.

DRF's IntegerField takes "5" and 5.0 and CharField takes 123, and a serializer silently drops
fields it does not know; at the edge of a money-and-stock system either is a client bug (or an
attempt: `"status": "CONFIRMED"`) and gets a clear 400.
"""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from saga_contract import CUSTOMER_ID_PATTERN


class StrictSerializer(serializers.Serializer[Any]):
    """A serializer that refuses fields it does not declare, nested ones included."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
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
    default_error_messages = {"type": "Must be a JSON string."}

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("type")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    default_error_messages = {"type": "Must be a JSON string."}

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


def unique_skus(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For `validate_items` of a serializer: each SKU at most once."""
    skus = [item["sku"] for item in items]
    duplicates = sorted({sku for sku in skus if skus.count(sku) > 1})
    if duplicates:
        raise serializers.ValidationError(f"Each SKU may appear once; repeated: {', '.join(duplicates)}.")
    return items

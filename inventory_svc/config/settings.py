"""Settings of inventory_svc: the chassis defaults plus this service's own app."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from chassis.settings import service_settings

globals().update(
    service_settings(
        name="inventory",
        base_dir=Path(__file__).resolve().parent.parent,
        # A reservation's status and the kind of its ledger's events are one enumeration in the schema.
        enum_names={"ReservationStatus": "inventory.models.Reservation.Status"},
        apps=["inventory"],
        description="Stock: operators keep the catalog and read every reservation and its ledger; the saga "
        "reserves an order's lines, releases them (its compensation) or commits them "
        "(`/internal/v1/`, for the saga's identity only).",
    )
)


def _stock_low_threshold(text: str) -> int:
    if not text.isdigit():
        raise ImproperlyConfigured(f"STOCK_LOW_THRESHOLD must be a whole number of units, not {text!r}")
    return int(text)


# A reservation that brings a product's available stock below this publishes `stock.low`.
STOCK_LOW_THRESHOLD = _stock_low_threshold(os.environ.get("STOCK_LOW_THRESHOLD", "5"))

"""Settings of inventory_svc: the chassis defaults plus this service's own app."""

from pathlib import Path

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

"""Settings of payment_svc: the chassis defaults plus this service's own app."""

from pathlib import Path

from chassis.settings import service_settings

globals().update(
    service_settings(
        name="payment",
        base_dir=Path(__file__).resolve().parent.parent,
        # A payment's status and the kind of its ledger's events are one enumeration in the schema.
        enum_names={"PaymentStatus": "payments.models.Payment.Status"},
        apps=["payments"],
        description="Money: operators open and fund accounts and read every payment and its ledger; a "
        "customer reads its own account; the saga holds an order's total, voids the hold (its "
        "compensation) or captures it for the merchant (`/internal/v1/`, for the saga's identity only).",
    )
)

"""Settings of payment_svc: the chassis defaults, this service's own app, and what a new customer's
account starts with."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from chassis.settings import service_settings

_chassis = service_settings(
    name="payment",
    base_dir=Path(__file__).resolve().parent.parent,
    # A payment's status and the kind of its ledger's events are one enumeration in the schema.
    enum_names={"PaymentStatus": "payments.models.Payment.Status"},
    apps=["payments"],
    description="Money: operators open and fund accounts and read every payment and its ledger; a "
    "customer reads its own account; the saga holds an order's total, voids the hold (its "
    "compensation) or captures it for the merchant (`/internal/v1/`, for the saga's identity only).",
)
globals().update(_chassis)

_MAX_SIGNUP_CREDIT_CENTS = 10**9


def _signup_credit_cents(text: str, *, production: bool) -> int:
    if not text.isdigit() or int(text) > _MAX_SIGNUP_CREDIT_CENTS:
        raise ImproperlyConfigured(
            f"PAYMENT_SIGNUP_CREDIT_CENTS must be a whole number of cents from 0 to "
            f"{_MAX_SIGNUP_CREDIT_CENTS}, not {text!r}"
        )
    if production and int(text) != 0:
        raise ImproperlyConfigured(
            "PAYMENT_SIGNUP_CREDIT_CENTS must be 0 in production: an operator deposits a customer's money"
        )
    return int(text)


_production = os.environ.get("DJANGO_ENV") == "production"  # service_settings has checked its value
PAYMENT_SIGNUP_CREDIT_CENTS = _signup_credit_cents(
    os.environ.get("PAYMENT_SIGNUP_CREDIT_CENTS") or ("0" if _production else "50000"),
    production=_production,
)
"""What the account a registration opens starts with (`manage.py consume_events`): 500.00 in
development and tests, so that a new customer can order at once. Production opens it empty."""

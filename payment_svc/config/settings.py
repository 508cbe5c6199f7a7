"""Settings of payment_svc: the chassis defaults plus this service's own app."""

from pathlib import Path

from chassis.settings import service_settings

globals().update(service_settings(name="payment", base_dir=Path(__file__).resolve().parent.parent, apps=["payments"]))

"""`manage.py rotate_signing_key`: a new key, published at once and signing after the lead
(IDENTITY_KEY_LEAD_SECONDS, or `--lead-seconds`); the old one stays in the JWKS until the last token
it signed has expired (accounts.keys.signing_key_rotate). `--lead-seconds 0` is for a key that must
stop signing now (a leaked one): a service may then refuse the new key's tokens for a few seconds."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.keys import signing_key_rotate


class Command(BaseCommand):
    help = "Rotate the provider's signing key; retired keys stay published until their tokens expire."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--lead-seconds",
            type=int,
            choices=range(3601),
            metavar="SECONDS",
            help="how long the new key is published before it signs (default IDENTITY_KEY_LEAD_SECONDS)",
        )

    def handle(self, *args: Any, lead_seconds: int | None = None, **options: Any) -> None:
        new, retired = signing_key_rotate(lead_seconds=lead_seconds)
        self.stdout.write(f"signing with {new.kid} from {new.signs_from:%Y-%m-%d %H:%M:%S}Z")
        for key in retired:
            self.stdout.write(f"retired {key.kid}: published until {key.published_until:%Y-%m-%d %H:%M:%S}Z")

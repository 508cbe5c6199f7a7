"""`manage.py rotate_signing_key`: a new key signs from now on; the old one stays in the JWKS until
the last token it signed has expired (accounts.keys.signing_key_rotate)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.keys import signing_key_rotate


class Command(BaseCommand):
    help = "Rotate the provider's signing key; retired keys stay published until their tokens expire."

    def handle(self, *args: Any, **options: Any) -> None:
        new, retired = signing_key_rotate()
        self.stdout.write(f"signing with {new.kid} from now on")
        for key in retired:
            self.stdout.write(f"retired {key.kid}: published until {key.published_until:%Y-%m-%d %H:%M:%S}Z")

"""The provider's signing keys: the current one signs, retired ones stay published until the tokens
they signed have expired, and `manage.py rotate_signing_key` turns the current one over.

A new key is published before it signs (by IDENTITY_KEY_LEAD_SECONDS): a service fetches the JWKS
again for a key it does not know at most every JWKS_REFETCH_COOLDOWN_SECONDS, so a key that signed
the moment it was made could be refused for that long by a service that had just fetched the set.
Keys live in the identity database, so every process serving the provider signs with the same key
and a rotation reaches them all at once, without a restart. A key's `kid` is its RFC 7638 thumbprint.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from jwcrypto import jwk

from accounts.models import SigningKey
from chassis.conf import shared_settings

ALGORITHM = "RS256"
KEY_BITS = 2048


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    jwk: jwk.JWK

    def public_jwk(self) -> dict[str, Any]:
        """The key as the JWKS publishes it."""
        return {**self.jwk.export_public(as_dict=True), "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


_loaded: dict[str, LoadedKey] = {}
_loaded_lock = threading.Lock()


def _load(row: SigningKey) -> LoadedKey:
    """A stored key, parsed once per process."""
    with _loaded_lock:
        key = _loaded.get(row.kid)
        if key is None:
            pem = row.private_pem.encode()
            private_key = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(private_key, rsa.RSAPrivateKey):
                raise ValueError(f"signing key {row.kid} is not an RSA key")
            key = _loaded[row.kid] = LoadedKey(row.kid, private_key, jwk.JWK.from_pem(pem))
        return key


def _generate(now: datetime, signs_from: datetime) -> SigningKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = jwk.JWK.from_pem(pem).thumbprint()
    return SigningKey.objects.create(kid=kid, private_pem=pem.decode(), created_at=now, signs_from=signs_from)


def current_key(now: datetime | None = None) -> LoadedKey:
    """The key that signs now: the newest whose time to sign has come, made first if there is none
    (a provider's first key signs at once: no service can have fetched a set without it)."""
    now = now or timezone.now()
    row = SigningKey.objects.filter(signs_from__lte=now).order_by("-signs_from", "-id").first()
    if row is None:
        with transaction.atomic():
            # Two processes may both find none and both make one: the newer signs, both are published.
            row = _generate(now, signs_from=now)
    return _load(row)


def published_keys(now: datetime | None = None) -> list[LoadedKey]:
    """Every key the JWKS lists: the current ones and the retired ones still within their grace."""
    now = now or timezone.now()
    rows = SigningKey.objects.filter(Q(published_until__isnull=True) | Q(published_until__gt=now))
    keys = [_load(row) for row in rows.order_by("-signs_from", "-id")]
    return keys or [current_key(now)]  # a provider that has signed nothing yet makes its first key


def signing_key_rotate(
    *, now: datetime | None = None, lead_seconds: int | None = None
) -> tuple[SigningKey, list[SigningKey]]:
    """Make a new key, published now and signing `lead_seconds` from now (IDENTITY_KEY_LEAD_SECONDS
    unless given; 0 for a key that must go at once, accepting that a service may refuse the new
    key's tokens for up to JWKS_REFETCH_COOLDOWN_SECONDS). The keys it supersedes stop signing then,
    and stay published for the provider's longest token life (IDENTITY_LONGEST_TOKEN_SECONDS) plus
    the services' leeway; keys whose time is over are deleted. Returns the new key and the keys it
    retired."""
    now = now or timezone.now()
    lead = timedelta(seconds=settings.IDENTITY_KEY_LEAD_SECONDS if lead_seconds is None else lead_seconds)
    grace = timedelta(seconds=settings.IDENTITY_LONGEST_TOKEN_SECONDS + shared_settings.JWT_LEEWAY_SECONDS)
    with transaction.atomic():
        retiring = list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
        new = _generate(now, signs_from=now + lead)
        for row in retiring:
            row.retired_at = new.signs_from
            row.published_until = new.signs_from + grace
            row.save(update_fields=["retired_at", "published_until"])
        SigningKey.objects.filter(published_until__lte=now).delete()
    return new, retiring

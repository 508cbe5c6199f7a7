"""Bearer tokens: the claims, roles and identity provider addresses every process agrees on, and a
key pair for tests.

identity_svc signs every token, in every mode; the services verify them against its JWKS
(chassis.auth). `LocalKeys` is for tests that need to sign tokens of their own (a stranger's key, a
forged claim) and for the services' own test suites. Free of Django, so the worker can import it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROLE_OPERATOR = "operator"
ROLE_SAGA = "saga"
ROLE_AUDITOR = "auditor"
"""Roles a token carries in its `roles` claim (or Keycloak's `realm_access.roles`), which only the
identity provider's administrators grant; never scopes, which a client may ask for itself. A token
with none of them is a customer's, and its `sub` is the customer id."""

SAGA_SUBJECT = "saga-orchestrator"
"""The worker's OAuth client id, and so the `sub` of its service tokens, unless settings name another."""
AUDITOR_SUBJECT = "saga-auditor"
"""The client id (and `sub`) the worker's scheduled audit reads with, unless settings name another."""

DEV_IDENTITY_URL = "http://127.0.0.1:8005"
"""identity_svc on its default local port: the issuer of the embedded default."""
JWKS_PATH = "/.well-known/jwks.json"
TOKEN_PATH = "/oauth/token"
DEV_ISSUER = DEV_IDENTITY_URL
DEV_JWKS_URL = DEV_IDENTITY_URL + JWKS_PATH
DEV_AUDIENCE = "saga-orders"
"""`iss`, JWKS and `aud` of the embedded default; production settings name the provider's own."""

JWKS_REFETCH_COOLDOWN_SECONDS = 10
"""A service fetches the JWKS again for a key it does not know at most this often (chassis.auth), so
identity_svc publishes a new key longer than this before it signs with it."""

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}
)
"""What the services may accept: signatures a public key verifies, never a shared secret (HS*) or none."""
LOCAL_ALGORITHM = "EdDSA"
DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 7 * 24 * 3600

_PRIVATE_KEY_FILE = "signing-key.pem"
_JWKS_FILE = "jwks.json"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class LocalKeys:
    """A test's own Ed25519 key pair: `signing-key.pem` (private, mode 0600) and `jwks.json`
    (its public key, `kid` = RFC 7638 thumbprint). `ensure` creates it once; later calls reuse it."""

    def __init__(self, private_key: Ed25519PrivateKey, directory: Path) -> None:
        self._private_key = private_key
        self.directory = directory
        self.public_jwk = _public_jwk(private_key)
        self.kid = self.public_jwk["kid"]

    @classmethod
    def ensure(cls, directory: Path) -> LocalKeys:
        """The key pair in `directory`, created first if there is none (safe against a concurrent
        creator: the first key written wins, and everyone uses it)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        private_path = directory / _PRIVATE_KEY_FILE
        if not private_path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".key-")  # created with mode 0600
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            try:
                os.link(temp, private_path)  # atomic create-if-absent
            except FileExistsError:
                pass
            finally:
                os.unlink(temp)
        keys = cls.load(directory)
        jwks = json.dumps({"keys": [keys.public_jwk]}, indent=2)
        if not (directory / _JWKS_FILE).exists() or (directory / _JWKS_FILE).read_text() != jwks:
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".jwks-")
            with os.fdopen(fd, "w") as out:
                out.write(jwks)
            os.chmod(temp, 0o644)
            os.replace(temp, directory / _JWKS_FILE)
        return keys

    @classmethod
    def load(cls, directory: Path) -> LocalKeys:
        """The key pair already in `directory`; FileNotFoundError when there is none."""
        private_key = serialization.load_pem_private_key(
            (Path(directory) / _PRIVATE_KEY_FILE).read_bytes(), password=None
        )
        if not isinstance(private_key, Ed25519PrivateKey):
            raise ValueError(f"{directory / _PRIVATE_KEY_FILE} is not an Ed25519 key")
        return cls(private_key, Path(directory))

    @property
    def jwks_file(self) -> Path:
        """The JWKS file, as the services' JWT_JWKS_FILE names it."""
        return (self.directory / _JWKS_FILE).absolute()

    def issue(
        self,
        *,
        subject: str,
        roles: Iterable[str] = (),
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
        now: float | None = None,
    ) -> str:
        """A signed token for `subject` with `roles`, valid for `ttl_seconds` from `now`."""
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": subject,
            "iat": issued,
            "exp": issued + ttl_seconds,
            "jti": uuid.uuid4().hex,
            "roles": sorted(roles),
        }
        return jwt.encode(claims, self._private_key, algorithm=LOCAL_ALGORITHM, headers={"kid": self.kid})

    def customer_token(self, customer_id: str, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
        return self.issue(subject=customer_id, ttl_seconds=ttl_seconds)

    def operator_token(self, ttl_seconds: int = DEFAULT_TTL_SECONDS, subject: str = "operator") -> str:
        return self.issue(subject=subject, roles=[ROLE_OPERATOR], ttl_seconds=ttl_seconds)

    def auditor_token(
        self,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        *,
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
    ) -> str:
        """The scheduled audit's token: it may read what the audit reads, nothing else."""
        return self.issue(
            subject=AUDITOR_SUBJECT,
            roles=[ROLE_AUDITOR],
            ttl_seconds=ttl_seconds,
            issuer=issuer,
            audience=audience,
        )

    def saga_token(
        self,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        *,
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
    ) -> str:
        """The worker's token for the saga's commands."""
        return self.issue(
            subject=SAGA_SUBJECT, roles=[ROLE_SAGA], ttl_seconds=ttl_seconds, issuer=issuer, audience=audience
        )


def _public_jwk(private_key: Ed25519PrivateKey) -> dict[str, str]:
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
    thumbprint = _b64url(
        hashlib.sha256(json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()).digest()
    )
    return {**jwk, "kid": thumbprint, "alg": LOCAL_ALGORITHM, "use": "sig"}


def token_roles(claims: dict[str, Any]) -> set[str]:
    """The roles a token's claims grant: `roles` and Keycloak's `realm_access.roles`. Scopes
    (`scope`, `scp`) are not roles: a client can request them for itself."""
    roles: set[str] = set()
    realm = claims.get("realm_access")
    for value in (claims.get("roles"), realm.get("roles") if isinstance(realm, dict) else None):
        if isinstance(value, list):
            roles.update(role for role in value if isinstance(role, str))
    return roles

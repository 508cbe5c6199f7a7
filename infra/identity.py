"""identity_svc as the local stack uses it: the secrets the stack generates for it (the worker's and
the auditor's client secrets, the development token path's secret), and a client of that path that
prints tokens for sagactl and the tests without a browser."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from chassis.directories import private_directory
from chassis.tokens import (
    AUDITOR_SUBJECT,
    DEFAULT_TTL_SECONDS,
    JWKS_PATH,
    ROLE_AUDITOR,
    ROLE_OPERATOR,
    ROLE_SAGA,
    SAGA_SUBJECT,
)

DEV_TOKENS_PATH = "/dev/v1/tokens"
DEV_SECRET_HEADER = "X-Dev-Token-Secret"
_SECRETS_FILE = "secrets.json"


@dataclass(frozen=True)
class StackSecrets:
    """Secrets generated once per checkout (or per stack of its own) in `<var>/identity/secrets.json`,
    mode 0600: the worker's and the auditor's client secrets, and the development token path's."""

    saga_client_secret: str
    auditor_client_secret: str
    dev_token_secret: str

    @classmethod
    def ensure(cls, directory: Path) -> StackSecrets:
        """The secrets in `directory`, made first if there are none (the first writer wins)."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        if not private_directory(directory, create=True):
            raise PermissionError(
                f"{directory} must be a directory of this user's that no one else may enter"
            )
        path = directory / _SECRETS_FILE
        if not path.exists():
            fresh = {name: secrets.token_urlsafe(32) for name in cls.__dataclass_fields__}
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".secrets-")  # mode 0600
            with os.fdopen(fd, "w") as out:
                json.dump(fresh, out)
            try:
                os.link(temp, path)  # atomic create-if-absent
            except FileExistsError:
                pass
            finally:
                os.unlink(temp)
        stored = json.loads(path.read_text())
        return cls(**{name: str(stored[name]) for name in cls.__dataclass_fields__})


class NoDevToken(Exception):
    """identity_svc gave no token: not running, or its development path is closed."""


class DevTokens:
    """Tokens from identity_svc's development path (POST /dev/v1/tokens), signed by its current key
    like any token it issues. Only a development identity_svc opens that path."""

    def __init__(self, identity_url: str, secret: str) -> None:
        self.identity_url = identity_url
        self._secret = secret

    def issue(
        self,
        *,
        subject: str,
        roles: Sequence[str] = (),
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        age_seconds: int = 0,
    ) -> str:
        """A token for `subject` with `roles`, valid for `ttl_seconds` from `age_seconds` ago."""
        body = {
            "subject": subject,
            "roles": list(roles),
            "ttl_seconds": ttl_seconds,
            "age_seconds": age_seconds,
        }
        try:
            response = httpx.post(
                self.identity_url + DEV_TOKENS_PATH,
                json=body,
                headers={DEV_SECRET_HEADER: self._secret},
                timeout=10.0,
                trust_env=False,
            )
        except httpx.HTTPError as error:
            raise NoDevToken(f"identity_svc at {self.identity_url} is not reachable: {error}") from error
        if response.status_code != 201:
            raise NoDevToken(
                f"identity_svc at {self.identity_url} refused a development token "
                f"({response.status_code}): {response.text[:200]}"
            )
        return str(response.json()["access_token"])

    def kid(self) -> str:
        """The key identity_svc signs with now."""
        return str(jwt.get_unverified_header(self.customer_token("key-probe", ttl_seconds=60))["kid"])

    def jwks(self) -> dict[str, Any]:
        """The keys identity_svc publishes."""
        response = httpx.get(self.identity_url + JWKS_PATH, timeout=10.0, trust_env=False)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    def customer_token(self, customer_id: str, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
        return self.issue(subject=customer_id, ttl_seconds=ttl_seconds)

    def operator_token(self, ttl_seconds: int = DEFAULT_TTL_SECONDS, subject: str = "operator") -> str:
        return self.issue(subject=subject, roles=(ROLE_OPERATOR,), ttl_seconds=ttl_seconds)

    def saga_token(self, ttl_seconds: int = DEFAULT_TTL_SECONDS, subject: str = SAGA_SUBJECT) -> str:
        return self.issue(subject=subject, roles=(ROLE_SAGA,), ttl_seconds=ttl_seconds)

    def auditor_token(self, ttl_seconds: int = DEFAULT_TTL_SECONDS, subject: str = AUDITOR_SUBJECT) -> str:
        return self.issue(subject=subject, roles=(ROLE_AUDITOR,), ttl_seconds=ttl_seconds)

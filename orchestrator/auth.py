"""The worker's own identities: the bearer token it sends with every saga command, and the read-only
auditor's token its scheduled audit reads the services with.

In the embedded default the worker signs its tokens with the local key that `sagactl` created
(chassis.tokens); in production it asks the identity provider's token endpoint for them (OAuth2
client credentials, a client of its own for each identity). Either way a token is cached until
shortly before it expires, and dropped at once when a service refuses it. It knows nothing of the
saga or of Temporal.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx

from chassis.tokens import DEFAULT_TTL_SECONDS, LocalKeys

if TYPE_CHECKING:
    from orchestrator.config import IdentitySettings

REFRESH_MARGIN_SECONDS = 60
"""A cached token is replaced this long before it expires; a short-lived one at half its life."""


class NoToken(Exception):
    """No token could be had right now (the token endpoint is down or refused the worker)."""


class TokenSource(Protocol):
    async def token(self) -> str: ...

    def invalidate(self) -> None: ...


@dataclass
class _Cached:
    token: str
    refresh_at: float  # time.monotonic()


def _refresh_at(lifetime_seconds: float) -> float:
    return time.monotonic() + lifetime_seconds - min(REFRESH_MARGIN_SECONDS, lifetime_seconds / 2)


class _CachingSource:
    """Caches what `_fetch` returns until its refresh time; one fetch at a time."""

    def __init__(self) -> None:
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        cached = self._cached
        if cached is not None and time.monotonic() < cached.refresh_at:
            return cached.token
        async with self._lock:
            cached = self._cached
            if cached is None or time.monotonic() >= cached.refresh_at:
                token, lifetime = await self._fetch()
                cached = self._cached = _Cached(token, _refresh_at(lifetime))
            return cached.token

    def invalidate(self) -> None:
        """Forget the cached token: a service refused it (expired early, keys rotated)."""
        self._cached = None

    async def _fetch(self) -> tuple[str, float]:
        raise NotImplementedError


class _LocalKeyTokens(_CachingSource):
    """Tokens signed with the local key pair under `key_dir` (the embedded default)."""

    def __init__(
        self, key_dir: Path, *, issuer: str, audience: str, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> None:
        super().__init__()
        self.key_dir = key_dir
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    async def _fetch(self) -> tuple[str, float]:
        try:
            keys = LocalKeys.load(self.key_dir)  # read again each time: `sagactl` may have made new keys
        except (OSError, ValueError) as error:
            raise NoToken(f"no local signing key in {self.key_dir}: {error}") from error
        return self._issue(keys), self.ttl_seconds

    def _issue(self, keys: LocalKeys) -> str:
        raise NotImplementedError


class LocalSagaTokens(_LocalKeyTokens):
    """The saga's tokens, for its commands."""

    def _issue(self, keys: LocalKeys) -> str:
        return keys.saga_token(self.ttl_seconds, issuer=self.issuer, audience=self.audience)


class LocalAuditorTokens(_LocalKeyTokens):
    """The auditor's tokens, for the scheduled audit's reads: they may read, never change anything."""

    def _issue(self, keys: LocalKeys) -> str:
        return keys.auditor_token(self.ttl_seconds, issuer=self.issuer, audience=self.audience)


class ClientCredentialsTokens(_CachingSource):
    """Production: OAuth2 client credentials against the identity provider's token endpoint."""

    def __init__(
        self,
        token_url: str,
        *,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.token_url = token_url
        self._form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        self._http = httpx.AsyncClient(
            auth=httpx.BasicAuth(client_id, client_secret), timeout=httpx.Timeout(5.0), transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _fetch(self) -> tuple[str, float]:
        try:
            response = await self._http.post(self.token_url, data=self._form)
        except httpx.TransportError as error:
            raise NoToken(f"token endpoint not reachable: {error}") from error
        try:
            body = response.json()
        except ValueError:
            body = None
        if (
            response.status_code != 200
            or not isinstance(body, dict)
            or not isinstance(body.get("access_token"), str)
        ):
            raise NoToken(f"token endpoint answered {response.status_code}")
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else 300.0
        return body["access_token"], lifetime


def token_source(
    identity: IdentitySettings, *, local: type[_LocalKeyTokens] = LocalSagaTokens
) -> TokenSource:
    """An identity's tokens: by client credentials at its token endpoint in production, else signed
    with the local key (as the saga, unless `local` names another identity)."""
    if identity.token_url:
        return ClientCredentialsTokens(
            identity.token_url,
            client_id=identity.client_id or "",
            client_secret=identity.client_secret or "",
            scope=identity.scope,
        )
    return local(identity.local_key_dir, issuer=identity.issuer, audience=identity.audience)

"""The worker's own identities: the bearer token it sends with every saga command, and the read-only
auditor's token its scheduled audit reads the services with.

The worker asks the identity provider's token endpoint for them, in every mode (OAuth2 client
credentials, a client of its own for each identity: identity_svc's, or any provider's). A token is
cached until shortly before it expires, and dropped at once when a service refuses it. It knows
nothing of the saga or of Temporal.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx

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


class ClientCredentialsTokens(_CachingSource):
    """OAuth2 client credentials against the identity provider's token endpoint."""

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


def token_source(identity: IdentitySettings) -> TokenSource:
    """An identity's tokens, by client credentials at its token endpoint."""
    return ClientCredentialsTokens(
        identity.token_url,
        client_id=identity.client_id,
        client_secret=identity.client_secret,
        scope=identity.scope,
    )

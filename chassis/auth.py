"""Who is calling: bearer JWTs verified with PyJWT against a JWKS, turned into a Principal.

Asymmetric algorithms only; `exp`, `iss`, `aud` and `sub` are required and checked, with a small
leeway. Keys come from the identity provider's JWKS at JWT_JWKS_URL (identity_svc's, in every mode),
cached and fetched again when a token names an unknown `kid`; the services' own test suites trust a
JWKS file instead (JWT_JWKS_FILE, read again whenever it changes). A token that passed is not
checked again while it lives (at most five minutes) and the key that verified it is still the one
the JWKS serves. What a principal may do is decided by chassis.permissions, not here.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from chassis.conf import shared_settings
from chassis.tokens import JWKS_REFETCH_COOLDOWN_SECONDS, token_roles
from saga_contract import CUSTOMER_ID_PATTERN

logger = logging.getLogger("chassis.auth")

CUSTOMER, OPERATOR, SAGA, AUDITOR = "customer", "operator", "saga", "auditor"
REALM = "saga-orders"
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)
MAX_SUBJECT_LENGTH = 128


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a customer (`subject` is its customer id), an operator, the saga, or
    the auditor (who may only read what the audit reads)."""

    kind: str
    subject: str

    is_authenticated = True  # what DRF and Django ask of `request.user`

    @property
    def key(self) -> str:
        """A stable name for scoping what belongs to this caller (idempotency keys, throttles)."""
        return f"{self.kind}:{self.subject}"

    @property
    def customer_id(self) -> str | None:
        """The customer this principal is, or None for an operator, the saga or the auditor."""
        return self.subject if self.kind == CUSTOMER else None


class InvalidToken(exceptions.AuthenticationFailed):
    """401: the bearer token is missing its parts, forged, expired or not meant for us."""

    default_code = "invalid_token"


class KeysUnavailable(exceptions.APIException):
    """503: the identity provider's keys cannot be fetched, so no token can be checked right now."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The signing keys cannot be fetched right now; retry shortly."
    default_code = "auth_unavailable"


class JwksFile:
    """A JWKS kept in a local file (the services' test suites), read again whenever the file changes.
    Offers `get_signing_key(kid)` like PyJWT's PyJWKClient, whose errors it raises."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int], jwt.PyJWKSet] | None = None

    def get_signing_key(self, kid: str) -> jwt.PyJWK:
        try:
            stat = os.stat(self.path)
            signature = (stat.st_ino, stat.st_mtime_ns)
            with self._lock:
                if self._cache is None or self._cache[0] != signature:
                    self._cache = (signature, jwt.PyJWKSet.from_dict(json.loads(self.path.read_text())))
                key_set = self._cache[1]
        except (OSError, ValueError) as error:
            raise jwt.PyJWKClientConnectionError(f"cannot read the JWKS file {self.path}: {error}") from error
        for key in key_set.keys:
            if key.key_id == kid:
                return key
        raise jwt.PyJWKClientError(f"no key {kid!r} in {self.path}")


@dataclass(frozen=True)
class _Verdict:
    principal: Principal
    kid: str
    key: jwt.PyJWK  # the key object that verified the token, as the JWKS served it then
    until: float  # time.time() after which the token is checked again


class VerdictCache:
    """Tokens that passed, each until it expires or for `max_age` seconds, whichever is first; at most
    `size` of them, the least recently used forgotten first. Shared by a process's server threads."""

    def __init__(self, *, size: int = 4096, max_age: float = 300.0) -> None:
        self.size = size
        self.max_age = max_age
        self._lock = threading.Lock()
        self._verdicts: OrderedDict[str, _Verdict] = OrderedDict()

    def get(self, token: str, now: float) -> _Verdict | None:
        with self._lock:
            verdict = self._verdicts.get(token)
            if verdict is None:
                return None
            if verdict.until <= now:
                del self._verdicts[token]
                return None
            self._verdicts.move_to_end(token)
            return verdict

    def put(self, token: str, verdict: _Verdict) -> None:
        with self._lock:
            self._verdicts[token] = verdict
            self._verdicts.move_to_end(token)
            while len(self._verdicts) > self.size:
                self._verdicts.popitem(last=False)

    def forget(self, token: str) -> None:
        with self._lock:
            self._verdicts.pop(token, None)


class TokenVerifier:
    """Checks a token's signature against the JWKS and its claims against our issuer and audience."""

    def __init__(
        self,
        *,
        jwks_url: str | None,
        jwks_file: str | None,
        jwks_cache_seconds: float,
        jwks_timeout_seconds: float,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...],
        leeway: float,
        operator_role: str,
        saga_role: str,
        saga_subjects: tuple[str, ...],
        auditor_role: str,
        auditor_subjects: tuple[str, ...],
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.algorithms = algorithms
        self.leeway = leeway
        self.operator_role = operator_role
        self.saga_role = saga_role
        self.saga_subjects = frozenset(saga_subjects)
        self.auditor_role = auditor_role
        self.auditor_subjects = frozenset(auditor_subjects)
        self._jwks: jwt.PyJWKClient | JwksFile
        if jwks_file is not None:
            self._jwks = JwksFile(Path(jwks_file))
        elif jwks_url:
            # A token naming an unknown kid fetches the key set again (at most every
            # JWKS_REFETCH_COOLDOWN_SECONDS), so a provider's new key is picked up at once, the more
            # so as identity_svc publishes it for longer than that before it signs.
            self._jwks = jwt.PyJWKClient(
                jwks_url,
                lifespan=jwks_cache_seconds,
                cooldown_duration=JWKS_REFETCH_COOLDOWN_SECONDS,
                timeout=jwks_timeout_seconds,
            )
        else:
            raise TypeError("a TokenVerifier needs jwks_url or jwks_file")
        self._verdicts = VerdictCache()

    def verify(self, token: str) -> Principal:
        """The token's principal; InvalidToken (401) or KeysUnavailable (503) when it cannot be had.

        A token verified before is taken from the cache while it has not expired and its key is still
        the very key object the JWKS serves: a withdrawn key (the provider's set fetched again without
        it, the test's file rewritten) sends the token through the whole check again."""
        now = time.time()
        verdict = self._verdicts.get(token, now)
        if verdict is not None:
            try:
                if self._jwks.get_signing_key(verdict.kid) is verdict.key:
                    return verdict.principal
            except (jwt.PyJWKClientError, jwt.PyJWKSetError):
                pass
            self._verdicts.forget(token)
        principal, kid, key, expires = self._verify(token)
        # Integers, as PyJWT compared them: a fractional `exp` is not stretched, a huge one cannot overflow.
        until = (
            now + self._verdicts.max_age
            if expires + self.leeway > now + self._verdicts.max_age
            else float(expires + self.leeway)
        )
        self._verdicts.put(token, _Verdict(principal, kid, key, until=until))
        return principal

    def _verify(self, token: str) -> tuple[Principal, str, jwt.PyJWK, int]:
        """The whole check: (principal, kid, the key that verified it, the token's expiry)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise InvalidToken("The bearer token is not a well-formed JWT.") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in self.algorithms:
            raise InvalidToken(f"Tokens signed with {algorithm!r} are not accepted.")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The token names no signing key (kid).")
        try:
            key = self._jwks.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as error:
            logger.warning("JWKS not reachable: %s", error)
            raise KeysUnavailable() from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError):
            raise InvalidToken("The token's signing key is not known.") from None
        if key.algorithm_name != algorithm:
            raise InvalidToken("The token's algorithm does not match its key.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired.") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"The token is not valid here: {error}.") from None
        return self._principal(claims), kid, key, int(claims["exp"])

    def _principal(self, claims: dict[str, Any]) -> Principal:
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
            raise InvalidToken("The token's subject is empty or too long.")
        roles = token_roles(claims)
        clients = {subject, claims.get("azp"), claims.get("client_id")}
        if self.auditor_role in roles:
            # The auditor reads every customer's orders and money: like the saga, it must be the
            # auditor's own client, and a token that would also be something more is no auditor's.
            if roles & {self.saga_role, self.operator_role}:
                raise InvalidToken(
                    "The token claims the auditor's role beside another; the auditor only reads."
                )
            if not clients & self.auditor_subjects:
                raise InvalidToken("The token claims the auditor's role but is not the auditor's.")
            return Principal(AUDITOR, subject)
        if self.saga_role in roles:
            # The saga's commands move money: the role alone is not enough, the token must also be
            # the worker's own (its subject, or the client it was issued to, named in settings).
            if not clients & self.saga_subjects:
                raise InvalidToken("The token claims the saga's role but is not the saga's.")
            return Principal(SAGA, subject)
        if self.operator_role in roles:
            return Principal(OPERATOR, subject)
        if not _CUSTOMER_ID.fullmatch(subject):
            raise InvalidToken("The token's subject is not a valid customer id.")
        return Principal(CUSTOMER, subject)


@functools.cache
def token_verifier() -> TokenVerifier:
    """The process's verifier for the JWT_* settings, made on first use (and again after a test
    changes one of them): its key set and its cache live as long as the process."""
    return TokenVerifier(
        jwks_url=shared_settings.JWT_JWKS_URL,
        jwks_file=shared_settings.JWT_JWKS_FILE,
        jwks_cache_seconds=shared_settings.JWT_JWKS_CACHE_SECONDS,
        jwks_timeout_seconds=shared_settings.JWT_JWKS_FETCH_TIMEOUT_SECONDS,
        issuer=shared_settings.JWT_ISSUER,
        audience=shared_settings.JWT_AUDIENCE,
        algorithms=tuple(shared_settings.JWT_ALGORITHMS),
        leeway=shared_settings.JWT_LEEWAY_SECONDS,
        operator_role=shared_settings.JWT_OPERATOR_ROLE,
        saga_role=shared_settings.JWT_SAGA_ROLE,
        saga_subjects=tuple(shared_settings.JWT_SAGA_SUBJECTS),
        auditor_role=shared_settings.JWT_AUDITOR_ROLE,
        auditor_subjects=tuple(shared_settings.JWT_AUDITOR_SUBJECTS),
    )


@receiver(setting_changed)
def _forget_verifier(*, setting: str, **_: object) -> None:
    if setting.startswith("JWT_"):
        token_verifier.cache_clear()


class JwtAuthentication(BaseAuthentication):
    """DRF authentication: `Authorization: Bearer <JWT>` → (Principal, None); no header → anonymous."""

    def authenticate(self, request: Request) -> tuple[Principal, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("The Authorization header must be 'Bearer <token>'.")
        return token_verifier().verify(token.strip()), None

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'


def www_authenticate(exc: exceptions.APIException) -> str:
    """The WWW-Authenticate value of a 401 (RFC 6750): names the error when a token was refused."""
    if isinstance(exc, InvalidToken):
        return f'Bearer realm="{REALM}", error="invalid_token"'
    return f'Bearer realm="{REALM}"'

"""Access tokens as JWTs in the RFC 9068 profile, signed with the provider's current key.

django-oauth-toolkit runs the grants and stores every token; it asks `access_token` for the token
string (its ACCESS_TOKEN_GENERATOR). The services verify these tokens offline against the JWKS
(chassis.auth): `iss`, `aud`, `sub`, `exp`, `iat`, `jti`, `client_id` and `roles` are what they read.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

import jwt
from django.conf import settings

from accounts.keys import ALGORITHM, current_key

ACCESS_TOKEN_TYPE = "at+jwt"
"""The `typ` header RFC 9068 gives an access token, so it can never pass as an ID token."""


def sign_access_token(
    *,
    subject: str,
    client_id: str,
    roles: Iterable[str] = (),
    scope: str = "",
    ttl_seconds: int,
    now: float | None = None,
) -> str:
    """A signed access token for `subject`, issued to `client_id`, carrying `roles`."""
    issued = int(time.time() if now is None else now)
    key = current_key()
    claims: dict[str, Any] = {
        "iss": settings.IDENTITY_ISSUER,
        "aud": settings.IDENTITY_AUDIENCE,
        "sub": subject,
        "client_id": client_id,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "roles": sorted(set(roles)),
    }
    if scope:
        claims["scope"] = scope
    return jwt.encode(
        claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
    )


def access_token(request: Any) -> str:
    """django-oauth-toolkit's token generator, called with oauthlib's request once the grant holds.

    A client that signs in as itself (client credentials) is the token's subject and carries the
    client's roles; otherwise the subject is the user who granted the code, with the user's roles,
    whatever scopes were asked for."""
    client = request.client
    if request.grant_type == "client_credentials":
        subject, roles = client.client_id, client.roles
    else:
        subject, roles = request.user.subject, request.user.roles
    return sign_access_token(
        subject=subject,
        client_id=client.client_id,
        roles=roles,
        scope=" ".join(request.scopes or ()),
        ttl_seconds=int(request.expires_in),
    )

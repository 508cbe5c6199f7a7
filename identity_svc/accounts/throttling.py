"""Abuse limits on the pages and endpoints that take a password or a client secret: per client
address and per account (or client), counted by django-ratelimit in the chassis's shared cache, so
every process serving the provider counts together. Lock-outs after failed sign-ins are django-axes's
(settings.AXES_*)."""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

from accounts.models import normalize_email


def client_address(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or the address the last of NUM_PROXIES proxies saw."""
    proxies: int = getattr(settings, "REST_FRAMEWORK", {}).get("NUM_PROXIES", 0)
    forwarded = request.headers.get("X-Forwarded-For")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        return str(hops[-min(proxies, len(hops))])
    return str(request.META.get("REMOTE_ADDR", ""))


def _count(request: HttpRequest, rate_name: str, key: str) -> bool:
    """Count one attempt under `key`; True when it is over its rate."""
    return bool(
        is_ratelimited(
            request,
            group=f"identity.{rate_name}",
            key=lambda _group, _request: key,
            rate=settings.IDENTITY_RATES[rate_name],
            increment=True,
        )
    )


def sign_in_limited(request: HttpRequest) -> bool:
    """A sign-in attempt: over the limit of its address, or of the account it names."""
    account = normalize_email(str(request.POST.get("username", "")))[:254]
    over_address = _count(request, "sign_in_per_address", client_address(request))
    over_account = bool(account) and _count(request, "sign_in_per_account", account)
    return over_address or over_account


def password_change_limited(request: HttpRequest, account: str) -> bool:
    """A password change checks the old password: limited like a sign-in, per address and account."""
    over_address = _count(request, "sign_in_per_address", client_address(request))
    over_account = _count(request, "sign_in_per_account", account)
    return over_address or over_account


def sign_up_limited(request: HttpRequest) -> bool:
    return _count(request, "sign_up_per_address", client_address(request))


def token_limited(request: HttpRequest) -> bool:
    """A token request: over the limit of its address, or of the client it names."""
    client = _client_id(request)
    over_address = _count(request, "token_per_address", client_address(request))
    over_client = bool(client) and _count(request, "token_per_client", client)
    return over_address or over_client


def _client_id(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(credentials, validate=True).decode().partition(":")[0][:100]
        except ValueError:
            return ""
    value: Any = request.POST.get("client_id", "")
    return str(value)[:100]

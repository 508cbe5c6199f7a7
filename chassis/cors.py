"""Cross-origin calls from a browser: which exact origins may call a service's API (SAGA_CORS_ORIGINS),
for django-cors-headers to answer, and what is refused because it would allow more.

The storefront needs it only where it is served from another origin than the API's (identity_svc
serving it in the local stack); behind the gateway it is same-origin and the list stays empty, which
sends no CORS header at all. Settings load this module: it imports nothing that reads settings, and
it never sets a header itself (chassis.middleware.ExactOriginCorsMiddleware runs django-cors-headers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

ORIGINS_VARIABLE = "SAGA_CORS_ORIGINS"
API_PATHS = r"^/(api|oauth)/"
"""The paths a browser may call from an allowed origin: the APIs and identity_svc's OAuth endpoints.
The probes, /metrics, /internal/ and the admin never answer a cross-origin request."""
ALLOWED_HEADERS = (*default_headers, "idempotency-key", "traceparent", "tracestate")
EXPOSED_HEADERS = ("retry-after", "x-request-id")
PREFLIGHT_MAX_AGE_SECONDS = 3600
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_refusal(origin: str, *, production: bool) -> str | None:
    """Why `origin` is not one exact origin as a browser sends it (scheme://host[:port], http or
    https, https alone in production), or None when it is one."""
    if "*" in origin or origin == "null":
        return f"{origin!r} is a wildcard, not one origin"
    try:
        parts = urlsplit(origin)
        port = parts.port  # a port that is not a number raises ValueError
    except ValueError:
        return f"{origin!r} is not an origin (scheme://host[:port])"
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return f"{origin!r} is not an http:// or https:// origin"
    if origin != f"{parts.scheme}://{parts.netloc}" or parts.username is not None:
        return f"{origin!r} is not an origin: it has a path, a query, a fragment or a user"
    if origin != origin.lower() or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{origin!r} is not written as a browser sends it (lower case, no default port)"
    if production and parts.scheme != "https":
        return f"{origin!r} is plain HTTP: production takes https:// origins only"
    return None


def cors_settings(environ: Mapping[str, str], *, production: bool) -> dict[str, Any]:
    """django-cors-headers' settings: the exact origins SAGA_CORS_ORIGINS names (comma-separated;
    none by default), on the API's paths only, without credentials (tokens travel in the
    Authorization header, never in a cookie). ImproperlyConfigured names the first bad origin."""
    origins = [origin.strip() for origin in environ.get(ORIGINS_VARIABLE, "").split(",") if origin.strip()]
    for origin in origins:
        refusal = origin_refusal(origin, production=production)
        if refusal:
            raise ImproperlyConfigured(f"{ORIGINS_VARIABLE} takes exact origins only: {refusal}")
    return {
        "CORS_ALLOWED_ORIGINS": origins,
        "CORS_ALLOWED_ORIGIN_REGEXES": [],
        "CORS_ALLOW_ALL_ORIGINS": False,
        "CORS_ALLOW_CREDENTIALS": False,
        "CORS_URLS_REGEX": API_PATHS,
        "CORS_ALLOW_HEADERS": list(ALLOWED_HEADERS),
        "CORS_EXPOSE_HEADERS": list(EXPOSED_HEADERS),
        "CORS_PREFLIGHT_MAX_AGE": PREFLIGHT_MAX_AGE_SECONDS,
    }


def wide_cors_refusals(configured: Any) -> list[str]:
    """One line for each CORS setting of `configured` (Django's settings) that allows more than exact
    origins: every origin, origin patterns, credentials, or an allowed origin that is not one exact
    origin. cors_settings never makes them; a service's own settings module could."""
    lines = []
    for name in ("CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL"):
        if getattr(configured, name, False):
            lines.append(f"{name} (every origin) is refused: name exact origins in {ORIGINS_VARIABLE}")
    for name in ("CORS_ALLOWED_ORIGIN_REGEXES", "CORS_ORIGIN_REGEX_WHITELIST"):
        if getattr(configured, name, ()):
            lines.append(f"{name} (origin patterns) is refused: name exact origins in {ORIGINS_VARIABLE}")
    if getattr(configured, "CORS_ALLOW_CREDENTIALS", False):
        lines.append("CORS_ALLOW_CREDENTIALS is refused: the API takes bearer tokens, never cookies")
    production = getattr(configured, "DJANGO_ENV", "production") == "production"
    for name in ("CORS_ALLOWED_ORIGINS", "CORS_ORIGIN_WHITELIST"):
        for origin in getattr(configured, name, ()):
            refusal = origin_refusal(origin, production=production)
            if refusal:
                lines.append(f"{name}: {refusal}")
    return lines

"""The storefront's built files, served by identity_svc at its root where no gateway serves them (the
local stack without nginx): WhiteNoise's settings for the folder IDENTITY_STOREFRONT_DIR names, and
the headers of its files.

`/` is the page, `/config.json` tells it where the APIs are, `/assets/` holds files named by their
content's hash. The page and its configuration are checked again on every load; the assets are
cached for good. Settings load this module: it reads the folder's config.json, never the database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger("accounts.storefront")

ASSETS_URL = "/assets/"
ALWAYS_REVALIDATED = ("index.html", "config.json")
"""The storefront's files that name no hash: a browser asks again before it uses its copy."""
CONFIG_FILE = "config.json"


def whitenoise_settings(folder: Path) -> dict[str, Any]:
    """WhiteNoise's settings that serve `folder` at the root, its index.html at `/`."""
    return {
        "WHITENOISE_ROOT": str(folder),
        "WHITENOISE_INDEX_FILE": True,
        # A regex searched in each file's URL: the storefront's hashed assets, never the API's static files.
        "WHITENOISE_IMMUTABLE_FILE_TEST": f"^{ASSETS_URL}",
        "WHITENOISE_ADD_HEADERS_FUNCTION": header_setter(folder),
    }


def api_origins(config: dict[str, Any]) -> list[str]:
    """The origins the storefront's config.json sends it to, other than its own: each API's base
    and each fault-injection URL that names an origin ("" and relative URLs are the page's own)."""
    faults = config.get("faults")
    urls = [config.get(name) for name in ("identity", "orders", "inventory", "payments", "notifications")]
    urls += list(faults.values()) if isinstance(faults, dict) else []
    origins = []
    for url in urls:
        if not isinstance(url, str):
            continue
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in origins:
                origins.append(origin)
    return origins


def content_security_policy(folder: Path) -> str:
    """The page's policy: its own files only, and calls to its own origin and to the APIs its
    config.json names; no plugin, no frame around it, no form sent elsewhere."""
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError) as error:
        logger.warning(
            "the storefront's %s cannot be read (%s): it may call its own origin only", CONFIG_FILE, error
        )
        config = {}
    connect = " ".join(["'self'", *api_origins(config if isinstance(config, dict) else {})])
    return (
        f"default-src 'self'; connect-src {connect}; img-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def header_setter(folder: Path) -> Callable[[Any, str, str], None]:
    """WhiteNoise's hook, called for every file it serves (the API documentation's too) with the
    file's headers, path and URL: the files in `folder` get their cache rule and the page's security
    headers."""

    def add_headers(headers: Any, path: str, url: str) -> None:
        if not Path(path).is_relative_to(folder):
            return
        if Path(path).name in ALWAYS_REVALIDATED and not url.startswith(ASSETS_URL):
            headers["Cache-Control"] = "no-cache"
        headers["Content-Security-Policy"] = content_security_policy(folder)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"

    return add_headers

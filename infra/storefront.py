"""The storefront (storefront/, a single-page app) as the local stack serves it. `build` runs npm
where Node.js is installed; `publish` copies the built files under the stack's var dir, once for each
origin that serves them, each copy with the config.json of its origin: identity_svc's own, where the
page calls every service at its own address, and the gateway's, where everything is one origin.

It never starts a server and knows nothing of what the page does; it is no part of `Stack.start`'s
readiness (a stack without a built storefront runs all the same).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saga_contract import FAULTS_PATH, NAMESPACE

if TYPE_CHECKING:
    from infra.stack.config import StackConfig

log = logging.getLogger("infra.storefront")

SOURCE = Path(__file__).resolve().parents[1] / "storefront"
"""The app's sources; `npm run build` writes its files to dist/ there."""
CLIENT_ID = "storefront"
"""The storefront's OAuth client at identity_svc (public: authorization code with PKCE)."""
IDENTITY_COPY, GATEWAY_COPY = "identity", "gateway"
BUILD_TIMEOUT_SECONDS = 900.0
NOT_BUILT = (
    "the storefront is not built: Node.js and npm are not installed (https://nodejs.org, or Debian's "
    "nodejs and npm packages); everything else runs, and the APIs answer as always"
)
# Each saga service's fault injection behind the gateway, by the storefront's name for the service.
_GATEWAY_FAULTS = {"order_svc": "orders", "inventory_svc": "inventory", "payment_svc": "payments"}


def build(source: Path = SOURCE, *, into: Path | None = None, log_path: Path | None = None) -> Path | None:
    """Build the storefront in `source` with npm, installing its packages first when node_modules is
    missing or older than package-lock.json; the folder of the built files (`into`, else dist/ in
    `source`), or None (one line logged saying why) when Node.js or npm is missing or the build fails.
    npm's output goes to `log_path`. A test builds `into` a folder of its own: a stack started meanwhile
    elsewhere may be copying dist/."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        log.warning(NOT_BUILT)
        return None
    if not (source / "package.json").is_file():
        log.warning("the storefront is not built: %s has no package.json", source)
        return None
    began = time.monotonic()
    steps = [[npm, "run", "build", *(["--", "--outDir", str(into)] if into else [])]]
    if _packages_stale(source):
        steps.insert(0, [npm, "ci", "--no-audit", "--no-fund"])
    for argv in steps:
        if not _run(argv, source, log_path):
            where = f"; npm's output is in {log_path}" if log_path else ""
            log.warning("the storefront is not built: `%s` failed%s", " ".join(argv[1:]), where)
            return None
    dist = into or source / "dist"
    log.info("storefront built in %.1f s", time.monotonic() - began)
    return dist


def _packages_stale(source: Path) -> bool:
    """Whether `npm ci` must run first: node_modules is missing, or older than package-lock.json."""
    modules, lock = source / "node_modules", source / "package-lock.json"
    if not modules.is_dir():
        return True
    return lock.is_file() and modules.stat().st_mtime < lock.stat().st_mtime


def _run(argv: list[str], cwd: Path, log_path: Path | None) -> bool:
    """Whether `argv` ran in `cwd` to a successful end within BUILD_TIMEOUT_SECONDS, its output
    appended to `log_path` (or left on the terminal)."""
    try:
        if log_path is None:
            return subprocess.run(argv, cwd=cwd, timeout=BUILD_TIMEOUT_SECONDS, check=False).returncode == 0
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as output:
            output.write(f"=== {' '.join(argv)}\n".encode())
            output.flush()
            done = subprocess.run(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT_SECONDS,
                check=False,
            )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def built_files(config: StackConfig) -> Path:
    """Where the built storefront the stack publishes is: StackConfig.storefront_dist, or the
    checkout's storefront/dist."""
    return config.storefront_dist or config.root / "storefront" / "dist"


def published_folder(config: StackConfig, copy: str) -> Path:
    """The folder of one published copy: IDENTITY_COPY (identity_svc serves it) or GATEWAY_COPY."""
    return config.var_dir / "storefront" / copy


def site_config(config: StackConfig, copy: str) -> dict[str, Any]:
    """The config.json of one copy. identity_svc's page calls each service at its own address (the
    services let its origin call them: SAGA_CORS_ORIGINS); the gateway's calls its own origin."""
    if copy == GATEWAY_COPY:
        bases = dict.fromkeys(("identity", "orders", "inventory", "payments", "notifications"), "")
        faults = {service: f"{FAULTS_PATH}/{name}" for service, name in _GATEWAY_FAULTS.items()}
    else:
        bases = {
            "identity": config.identity_url,
            "orders": config.order_url,
            "inventory": config.inventory_url,
            "payments": config.payment_url,
            "notifications": config.notification_url,
        }
        faults = {service: config.service_url(service) + FAULTS_PATH for service in _GATEWAY_FAULTS}
    return {
        **bases,
        "faults": faults,
        "client_id": CLIENT_ID,
        "temporal_ui": config.ui_url,
        "namespace": NAMESPACE,
    }


def publish(config: StackConfig) -> list[Path]:
    """Copy the built storefront under the stack's var dir, with each copy's config.json: identity_svc's
    always, the gateway's when the stack runs one. The folders published; none when the storefront is
    not built, whose earlier copies are emptied so that no stale page is served."""
    copies = [IDENTITY_COPY] + ([GATEWAY_COPY] if config.gateway_port is not None else [])
    source = built_files(config)
    is_built = (source / "index.html").is_file()
    published = []
    for copy in (IDENTITY_COPY, GATEWAY_COPY):
        folder = published_folder(config, copy)
        shutil.rmtree(folder, ignore_errors=True)
        if not is_built or copy not in copies:
            folder.mkdir(parents=True, exist_ok=True)  # served, and empty
            continue
        shutil.copytree(source, folder)
        (folder / "config.json").write_text(json.dumps(site_config(config, copy), indent=2) + "\n")
        published.append(folder)
    if published:
        log.info("storefront published at %s", address(config))
    return published


def address(config: StackConfig) -> str | None:
    """Where a person opens the published storefront: the gateway when it runs, else identity_svc;
    None when nothing is published."""
    copy = GATEWAY_COPY if config.gateway_port is not None else IDENTITY_COPY
    if not (published_folder(config, copy) / "index.html").is_file():
        return None
    return f"{config.gateway_url if copy == GATEWAY_COPY else config.identity_url}/"


def origins(config: StackConfig) -> list[str]:
    """Every origin the storefront may be served from on this stack, for its OAuth client's redirect
    URIs: identity_svc's, and the gateway's (plain and, with a certificate, TLS) when it runs."""
    return [url for url in (config.identity_url, config.gateway_url, config.gateway_tls_url) if url]

"""One service alone under gunicorn, trusting an identity provider of the test's own: a key pair whose
JWKS a small HTTP server publishes, as any OpenID Connect provider does. For the tests that need a
service set up differently from the stack's (other throttles, another provider)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from chassis.tokens import LocalKeys
from infra.stack import BIN_DIR, HOST, REPO_ROOT, ManagedProcess, free_ports
from infra.stack.processes import answers_200

# Variables of the caller's environment that would change what a test sets up for itself.
_NOT_INHERITED = {
    "REDIS_URL",
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "SAGA_VAR_DIR",
    "SAGA_CHAOS",
    "PROMETHEUS_MULTIPROC_DIR",
    "THROTTLE_OPERATORS",
}


@contextmanager
def published_jwks(keys: LocalKeys) -> Iterator[str]:
    """The URL of `keys`' JWKS, served over HTTP on 127.0.0.1 while the block runs."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(keys.directory))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]  # a quiet handler: patched on the partial
    server = ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/{keys.jwks_file.name}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def standalone_service(
    service: str,
    var_dir: Path,
    settings: dict[str, str],
    *,
    workers: int = 1,
    argv: tuple[str, ...] = (),
    migrate: bool = False,
) -> Iterator[tuple[str, ManagedProcess]]:
    """`service` under gunicorn on a free port with `settings` in its environment (on SQLite in
    `var_dir`, development settings), ready; its URL and process. `argv` extends gunicorn's; with
    `migrate`, its database is migrated first."""
    (port,) = free_ports(1)
    url = f"http://{HOST}:{port}"
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _NOT_INHERITED and not name.startswith("THROTTLE_")
    }
    env |= {
        "DJANGO_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SAGA_VAR_DIR": str(var_dir),
        "PYTHONUNBUFFERED": "1",
        **settings,
    }
    command = [
        str(BIN_DIR / "gunicorn"), "config.wsgi:application",
        "--config", "python:chassis.gunicorn_conf",
        "--bind", f"{HOST}:{port}",
        "--workers", str(workers),
        "--threads", "2",
        *argv,
    ]  # fmt: skip
    if migrate:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO_ROOT / service,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    process = ManagedProcess(
        service,
        command,
        cwd=REPO_ROOT / service,
        env=env,
        log_path=var_dir / f"{service}.log",
        ready=lambda: answers_200(f"{url}/readyz"),
    )
    process.start()
    try:
        process.wait_ready(60.0)
        yield url, process
    finally:
        process.stop()

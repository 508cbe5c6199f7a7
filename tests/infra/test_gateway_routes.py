"""The gateway's routes (infra/deploy/gateway), served by real nginx in front of stand-in services
that answer with their own name: each public path reaches the service that owns it, identity_svc's
provider and pages and each service's fault injection among them, the client's Host passes through
with its port, and identity_svc's development token path, however it is spelled, reaches no service.
The storefront's published files are served at the root with their cache rules and the page's
policy, and nothing else of their folder. The whole system behind the same gateway is tested in
tests/e2e/test_gateway.py. Skips where nginx is missing (.ci/run installs it).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from infra import storefront
from infra.nginx import nginx_binary, write_configuration
from infra.stack import StackConfig, free_ports

pytestmark = pytest.mark.any_database

SERVICES = ("order_svc", "payment_svc", "inventory_svc", "notification_svc", "identity_svc")
NOT_FOUND = {"code": "not_found", "message": "Not found.", "details": {}}
PAGE = "<!doctype html><title>Saga shop</title><script type=module src=./assets/index-B9xQ3f2a.js></script>"
ASSET = "/assets/index-B9xQ3f2a.js"


def built_storefront(folder: Path) -> Path:
    """A storefront as `npm run build` leaves it in dist/, with a file that is no part of what is served."""
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(PAGE)
    (folder / "config.json").write_text("{}")
    (folder / ASSET.lstrip("/")).write_text("console.log('shop');")
    (folder / "assets" / "index-Cq1v0e9Z.css").write_text("body { margin: 0; }")
    (folder / "notes.txt").write_text("not served")
    return folder


def stand_in(service: str) -> ThreadingHTTPServer:
    """A server on a free port that answers every request with its service's name, the path it was
    asked for and the Host it was given."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps({"service": service, "path": self.path, "host": self.headers["Host"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    (port,) = free_ports(1)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[dict[str, ThreadingHTTPServer]]:
    servers = {service: stand_in(service) for service in SERVICES}
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def gateway_config(
    tmp_path_factory: pytest.TempPathFactory, stand_ins: dict[str, ThreadingHTTPServer]
) -> StackConfig:
    """A stack of stand-ins, with a gateway port of its own and its storefront published."""
    servers = stand_ins
    (gateway_port,) = free_ports(1, avoid={server.server_port for server in servers.values()})
    directory = tmp_path_factory.mktemp("stack")
    config = StackConfig(
        order_port=servers["order_svc"].server_port,
        payment_port=servers["payment_svc"].server_port,
        inventory_port=servers["inventory_svc"].server_port,
        notification_port=servers["notification_svc"].server_port,
        identity_port=servers["identity_svc"].server_port,
        gateway_port=gateway_port,
        var_dir=directory / "var",
        storefront_dist=built_storefront(directory / "dist"),
    )
    storefront.publish(config)
    return config


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, gateway_config: StackConfig) -> Iterator[str]:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)")
    directory = tmp_path_factory.mktemp("gateway")
    configuration = write_configuration(gateway_config, directory)
    url = f"http://127.0.0.1:{gateway_config.gateway_port}"
    errors = directory / "nginx.stderr"
    with errors.open("wb") as error_log:
        nginx = subprocess.Popen(
            [binary, "-p", f"{directory}/", "-c", str(configuration), "-e", "stderr"],
            stdout=subprocess.DEVNULL,
            stderr=error_log,
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"{url}/gateway/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert nginx.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, f"nginx did not answer: {errors.read_text()}"
            time.sleep(0.1)
        yield url
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


@pytest.mark.parametrize(
    ("method", "path", "service", "upstream_path"),
    [
        ("GET", "/.well-known/openid-configuration", "identity_svc", None),
        ("GET", "/.well-known/jwks.json", "identity_svc", None),
        ("GET", "/oauth/authorize?client_id=storefront&response_type=code", "identity_svc", None),
        ("POST", "/oauth/token", "identity_svc", None),
        ("POST", "/oauth/revoke", "identity_svc", None),
        ("GET", "/oauth/userinfo", "identity_svc", None),
        ("GET", "/oauth/logout", "identity_svc", None),
        ("GET", "/accounts/", "identity_svc", None),
        ("POST", "/accounts/sign-in", "identity_svc", None),
        ("POST", "/accounts/sign-up", "identity_svc", None),
        ("POST", "/accounts/sign-out", "identity_svc", None),
        ("POST", "/accounts/password", "identity_svc", None),
        ("POST", "/api/v1/users", "identity_svc", None),
        ("GET", "/api/v1/me", "identity_svc", None),
        ("GET", "/api/docs/identity/", "identity_svc", "/api/docs/"),
        ("GET", "/api/docs/identity/schema.json", "identity_svc", "/api/docs/schema.json"),
        # Neighbours of identity_svc's paths stay where they were.
        ("GET", "/api/v1/merchant", "payment_svc", None),
        ("GET", "/api/v1/accounts/alice", "payment_svc", None),
        ("GET", "/api/v1/orders", "order_svc", None),
        ("GET", "/api/v1/products/BEANS-1KG", "inventory_svc", None),
        ("GET", "/api/v1/notifications", "notification_svc", None),
        # What the storefront calls besides: the public catalog, the operators' views of the saga's
        # health, and each service's fault injection under a name of its own.
        ("GET", "/api/v1/catalog", "inventory_svc", None),
        ("GET", "/api/v1/catalog?page=2", "inventory_svc", None),
        ("GET", "/api/v1/operations/breakers", "order_svc", None),
        ("GET", "/api/v1/operations/audit", "order_svc", None),
        ("GET", "/api/v1/faults/orders", "order_svc", "/api/v1/faults"),
        ("PUT", "/api/v1/faults/inventory", "inventory_svc", "/api/v1/faults"),
        ("DELETE", "/api/v1/faults/payments", "payment_svc", "/api/v1/faults"),
        ("GET", "/api/v1/faults/notifications", "notification_svc", "/api/v1/faults"),
    ],
)
def test_each_public_path_reaches_the_service_that_owns_it(gateway, method, path, service, upstream_path):
    answer = httpx.request(method, gateway + path, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["service"] == service
    assert answer.json()["path"] == (upstream_path or path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/dev/v1/tokens"),
        ("GET", "/dev/v1/tokens"),
        ("POST", "/dev/v1/tokens/"),
        ("POST", "/%64ev/v1/tokens"),
        ("POST", "//dev/v1/tokens"),
        ("POST", "/oauth/../dev/v1/tokens"),
        ("POST", "/accounts/%2e%2e/dev/v1/tokens"),
        ("GET", "/dev/"),
        # Near misses of identity_svc's routes.
        ("GET", "/.well-known/other"),
        ("GET", "/api/v1/users/alice"),
        ("GET", "/api/v1/meta"),
        ("GET", "/accountsx"),
        ("GET", "/admin/"),
        # Near misses of the storefront's and the fault injection's routes, and unknown API paths.
        ("GET", "/api/v1/faults"),
        ("PUT", "/api/v1/faults/orders/x"),
        ("GET", "/api/v1/faults/worker"),
        ("GET", "/api/v1/unknown"),
        ("GET", "/api/v2/orders"),
        ("GET", "/internal/v1/faults"),
        ("GET", "/notes.txt"),
        ("GET", "/assets/missing.js"),
        ("GET", "/assets/"),
        ("GET", "/index.htm"),
    ],
)
def test_the_development_token_path_and_near_misses_reach_no_service(gateway, method, path):
    answer = httpx.request(method, gateway + path, json={"subject": "x", "roles": ["operator"]}, timeout=10)
    assert answer.status_code == 404, (path, answer.text)
    assert answer.json() == NOT_FOUND


def test_the_client_host_reaches_the_service_with_its_port(gateway):
    # identity_svc's pages compare a form's Origin with this Host (CSRF), port and all.
    host = gateway.removeprefix("http://")
    assert httpx.get(f"{gateway}/accounts/sign-in", timeout=10).json()["host"] == host
    answer = httpx.get(f"{gateway}/accounts/sign-in", headers={"Host": "shop.example:8443"}, timeout=10)
    assert answer.json()["host"] == "shop.example:8443"


@pytest.mark.parametrize(
    "path", ["/", "/?code=c0de&state=s7a7e&iss=http%3A%2F%2F127.0.0.1%3A8005", "/index.html"]
)
def test_the_storefronts_page_is_served_at_the_root_checked_again_on_every_load(gateway, path):
    page = httpx.get(gateway + path, timeout=10)

    assert page.status_code == 200
    assert page.text == PAGE
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-cache"
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"  # every API is on the gateway's origin
    assert policy["frame-ancestors"] == "'none'"
    assert "connect-src" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_the_storefronts_configuration_sends_it_to_the_gateways_own_origin(gateway):
    answer = httpx.get(f"{gateway}/config.json", timeout=10)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert answer.headers["Cache-Control"] == "no-cache"
    config = answer.json()
    assert [config[base] for base in ("identity", "orders", "inventory", "payments", "notifications")] == [
        ""
    ] * 5
    assert config["faults"] == {
        "order_svc": "/api/v1/faults/orders",
        "inventory_svc": "/api/v1/faults/inventory",
        "payment_svc": "/api/v1/faults/payments",
    }
    assert config["client_id"] == "storefront"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [(ASSET, "text/javascript; charset=utf-8"), ("/assets/index-Cq1v0e9Z.css", "text/css; charset=utf-8")],
)
def test_the_storefronts_hashed_assets_are_cached_for_good(gateway, path, content_type):
    answer = httpx.get(gateway + path, timeout=10)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == content_type
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_without_a_built_storefront_its_paths_are_404s_in_the_error_shape(gateway, gateway_config, tmp_path):
    storefront.publish(dataclasses.replace(gateway_config, storefront_dist=tmp_path))  # nothing built there
    try:
        for path in ("/", "/index.html", "/config.json", ASSET):
            answer = httpx.get(gateway + path, timeout=10)
            assert answer.status_code == 404, path
            assert answer.json() == NOT_FOUND, path
    finally:
        storefront.publish(gateway_config)

"""The gateway's routes (infra/deploy/gateway), served by real nginx in front of stand-in services
that answer with their own name: each public path reaches the service that owns it, identity_svc's
provider and pages among them, the client's Host passes through with its port, and identity_svc's
development token path, however it is spelled, reaches no service. The whole system behind the same
gateway is tested in tests/e2e/test_gateway.py. Skips where nginx is missing (.ci/run installs it).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from infra.nginx import nginx_binary, write_configuration
from infra.stack import StackConfig, free_ports

SERVICES = ("order_svc", "payment_svc", "inventory_svc", "notification_svc", "identity_svc")


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

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    (port,) = free_ports(1)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)")
    servers = {service: stand_in(service) for service in SERVICES}
    (gateway_port,) = free_ports(1, avoid={server.server_port for server in servers.values()})
    directory = tmp_path_factory.mktemp("gateway")
    config = StackConfig(
        order_port=servers["order_svc"].server_port,
        payment_port=servers["payment_svc"].server_port,
        inventory_port=servers["inventory_svc"].server_port,
        notification_port=servers["notification_svc"].server_port,
        identity_port=servers["identity_svc"].server_port,
        gateway_port=gateway_port,
        var_dir=directory / "var",
    )
    configuration = write_configuration(config, directory)
    url = f"http://127.0.0.1:{gateway_port}"
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
        for server in servers.values():
            server.shutdown()
            server.server_close()


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
    ],
)
def test_the_development_token_path_and_near_misses_reach_no_service(gateway, method, path):
    answer = httpx.request(method, gateway + path, json={"subject": "x", "roles": ["operator"]}, timeout=10)
    assert answer.status_code == 404, (path, answer.text)
    assert answer.json() == {"code": "not_found", "message": "Not found.", "details": {}}


def test_the_client_host_reaches_the_service_with_its_port(gateway):
    # identity_svc's pages compare a form's Origin with this Host (CSRF), port and all.
    host = gateway.removeprefix("http://")
    assert httpx.get(f"{gateway}/accounts/sign-in", timeout=10).json()["host"] == host
    answer = httpx.get(f"{gateway}/accounts/sign-in", headers={"Host": "shop.example:8443"}, timeout=10)
    assert answer.json()["host"] == "shop.example:8443"

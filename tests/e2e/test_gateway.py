"""The gateway, real nginx in front of a real stack (infra/deploy/gateway, through `sagactl`'s runner): a
whole order placed and followed through the gateway alone, every service's docs under it, the
internal and admin endpoints unreachable, refusals in the error shape, TLS where a certificate is
given, and the rate limit biting. The storefront is served twice, by the gateway on its one origin
and by identity_svc, whose origin alone the other services answer cross-origin, and its OAuth client
takes both origins. Skips, saying how to install it, where nginx is missing (.ci/run installs it).
"""

import datetime
import ipaddress
import ssl
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.nginx import nginx_binary
from infra.stack import Stack, StackConfig, free_ports
from observability.logs import parse_line
from tests.support.api import unique
from tests.support.identity import Browser, pkce_pair, sign_up_and_get_tokens
from tests.support.waiting import wait_for

pytestmark = pytest.mark.any_database

RATE, BURST = "10r/s", "20"
PAGE = "<!doctype html><title>Saga shop</title><script type=module src=./assets/index-B9xQ3f2a.js></script>"


def built_storefront(folder: Path) -> Path:
    """A storefront as `npm run build` leaves it in dist/."""
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(PAGE)
    (folder / "config.json").write_text("{}")
    (folder / "assets" / "index-B9xQ3f2a.js").write_text("console.log('shop');")
    return folder


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1, its key beside it."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    (directory / "gateway.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "gateway.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return directory


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, certificate: Path) -> Iterator[tuple[Stack, str, str]]:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)")
    gateway_port, tls_port = free_ports(2)
    config = StackConfig.on_free_ports(
        tmp_path_factory.mktemp("gateway-stack"),
        gateway_port=gateway_port,
        storefront_dist=built_storefront(tmp_path_factory.mktemp("storefront")),
        tuning={
            "GATEWAY_RATE": RATE,
            "GATEWAY_BURST": BURST,
            "GATEWAY_TLS_PORT": str(tls_port),
            "GATEWAY_TLS_CERT": str(certificate / "gateway.pem"),
            "GATEWAY_TLS_KEY": str(certificate / "gateway.key"),
        },
    )
    with Stack(config) as running:
        yield running, f"http://127.0.0.1:{gateway_port}", f"https://127.0.0.1:{tls_port}"


def test_an_order_is_placed_and_followed_through_the_gateway_alone(gateway):
    stack, url, _ = gateway
    keys = stack.config.tokens()
    operator = {"Authorization": f"Bearer {keys.operator_token()}"}
    customer_id = unique("via-gateway")
    customer = {"Authorization": f"Bearer {keys.customer_token(customer_id)}"}
    with httpx.Client(base_url=url, timeout=30) as client:

        def post(path, body, headers):
            return client.post(path, json=body, headers=headers | {"Idempotency-Key": str(uuid.uuid4())})

        sku = unique("GATE").upper()
        assert (
            post(
                "/api/v1/products", {"sku": sku, "name": "Gate", "price_cents": 250, "on_hand": 4}, operator
            ).status_code
            == 201
        )
        assert (
            post(
                "/api/v1/accounts", {"customer_id": customer_id, "balance_cents": 1000}, operator
            ).status_code
            == 201
        )
        placed = post(
            "/api/v1/orders", {"items": [{"sku": sku, "quantity": 2}]}, customer | {"X-Request-ID": "req-42"}
        )
        assert placed.status_code == 202
        assert placed.headers["X-Request-ID"] == "req-42"
        order_id = placed.json()["id"]

        deadline = time.monotonic() + 60
        while (order := client.get(f"/api/v1/orders/{order_id}", headers=customer).json())[
            "status"
        ] == "PENDING":
            assert time.monotonic() < deadline, order
            time.sleep(0.5)
        assert (order["status"], order["total_cents"]) == ("CONFIRMED", 500)
        # The order is confirmed by the saga's last step; the workflow completes one task later.
        wait_for(
            lambda: (
                client.get(f"/api/v1/orders/{order_id}/saga", headers=customer).json()["status"]
                == "COMPLETED"
            ),
            30,
            "the saga reads COMPLETED through the gateway",
            interval=0.5,
        )
        assert client.get(f"/api/v1/accounts/{customer_id}", headers=customer).json()["balance_cents"] == 500
        assert client.get(f"/api/v1/products/{sku}", headers=operator).json()["on_hand"] == 2
        assert client.get(f"/api/v1/payments?order_id={order_id}", headers=operator).json()["count"] == 1
        assert client.get("/api/v1/merchant", headers=operator).status_code == 200
        assert (
            client.get(f"/api/v1/reservations/{order_id}", headers=operator).json()["status"] == "COMMITTED"
        )
        # The customer reaches notification_svc's list through the gateway as well. Whether the mail
        # has gone out is checked in test_events.py, not here.
        assert client.get("/api/v1/notifications", headers=customer).status_code == 200
    # The service's line about the placement carries the request id the client sent through the gateway.
    placement = [
        line
        for line in map(parse_line, (stack.config.log_dir / "order_svc.log").read_text().splitlines())
        if line and line["message"] == "POST /api/v1/orders 202" and line["order_id"] == order_id
    ]
    assert [line["request_id"] for line in placement] == ["req-42"]


def test_internal_admin_metrics_and_probes_are_unreachable_from_outside(gateway):
    stack, url, _ = gateway
    saga = {"Authorization": f"Bearer {stack.config.tokens().saga_token()}"}
    order_id = uuid.uuid4()
    for method, path in [
        ("POST", f"/internal/v1/orders/{order_id}/confirm"),
        ("POST", "/internal/v1/reservations"),
        ("POST", "/internal/v1/payments/capture"),
        ("GET", f"/internal/v1/orders/{order_id}"),
        ("GET", "/admin/"),
        ("GET", "/admin/login/"),
        ("GET", "/metrics"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("POST", "/internal/v1/idempotency-records/purge"),
        ("POST", "/api/v1/../internal/v1/idempotency-records/purge"),
        ("POST", "/api/v1/orders/%2e%2e/%2e%2e/%2e%2e/internal/v1/idempotency-records/purge"),
    ]:
        answer = httpx.request(
            method, url + path, headers=saga | {"Idempotency-Key": "k"}, json={}, timeout=10
        )
        assert answer.status_code == 404, (method, path, answer.status_code)
        assert answer.json()["code"] == "not_found", (method, path)
    # A path that climbs above the root is no request at all.
    answer = httpx.get(f"{url}/%2e%2e/internal/v1/idempotency-records/purge", timeout=10)
    assert answer.status_code == 400
    assert answer.json()["code"] == "bad_request"


def test_each_services_docs_are_served_under_the_gateway(gateway):
    _, url, _ = gateway
    for name, title in (
        ("orders", "order_svc"),
        ("inventory", "inventory_svc"),
        ("payments", "payment_svc"),
        ("notifications", "notification_svc"),
    ):
        page = httpx.get(f"{url}/api/docs/{name}/", timeout=10)
        assert page.status_code == 200
        assert "swagger-ui" in page.text
        assert httpx.get(f"{url}/api/docs/{name}/schema.json", timeout=10).json()["info"]["title"] == title
    script = httpx.get(
        f"{url}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", timeout=10
    )
    assert script.status_code == 200
    assert len(script.content) > 100_000


def test_a_body_over_the_limit_is_refused_by_the_gateway_in_the_error_shape(gateway):
    _, url, _ = gateway
    answer = httpx.post(
        f"{url}/api/v1/orders",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"


def test_tls_is_terminated_where_a_certificate_is_given(gateway, certificate):
    _, _, tls_url = gateway
    trusted = ssl.create_default_context(cafile=str(certificate / "gateway.pem"))
    answer = httpx.get(f"{tls_url}/api/docs/orders/schema.json", verify=trusted, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["info"]["title"] == "order_svc"
    assert httpx.get(f"{tls_url}/internal/v1/reservations", verify=trusted, timeout=10).status_code == 404
    with pytest.raises(httpx.ConnectError):  # a client that does not trust the certificate gets nothing
        httpx.get(f"{tls_url}/api/docs/orders/schema.json", timeout=10)


def test_the_rate_limit_bites_with_429_and_lets_the_client_back_after_it(gateway):
    _, url, _ = gateway
    time.sleep(3)  # the bucket refills from the tests before
    with httpx.Client(base_url=url, timeout=10) as client, ThreadPoolExecutor(max_workers=10) as pool:
        # The burst asks for the storefront's page, which nginx serves itself, so it outruns the refill
        # however busy the machine is: on a busy host a service's answers can come slower than the
        # refill, and a burst of API calls would never empty the bucket.
        pages = list(pool.map(lambda _: client.get("/").status_code, range(int(BURST) + 30)))
        assert set(pages) == {200, 429}, pages
        assert pages.count(200) >= int(BURST), pages
        assert pages.count(429) >= 10, pages
        # The bucket is the client's, whatever it asks for: the APIs behind the gateway are refused too.
        calls = list(pool.map(lambda _: client.get("/api/docs/orders/schema.json"), range(10)))
        refused = [answer for answer in calls if answer.status_code == 429]
        assert refused, [answer.status_code for answer in calls]
        assert refused[0].json()["code"] == "throttled"
        assert refused[0].headers["Retry-After"] == "1"
        time.sleep(2.5)
        assert client.get("/api/docs/orders/schema.json").status_code == 200


def test_the_gateway_serves_the_storefront_on_its_own_origin_beside_the_apis(gateway, certificate):
    _, url, tls_url = gateway
    page = httpx.get(f"{url}/", timeout=10)
    assert page.status_code == 200
    assert page.text == PAGE
    assert page.headers["Cache-Control"] == "no-cache"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self';")
    config = httpx.get(f"{url}/config.json", timeout=10).json()
    assert (config["orders"], config["identity"], config["faults"]["order_svc"]) == (
        "",
        "",
        "/api/v1/faults/orders",
    )
    asset = httpx.get(f"{url}/assets/index-B9xQ3f2a.js", timeout=10)
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # The public catalog needs no token; anything else unknown under /api/ is a 404 in the error shape.
    assert httpx.get(f"{url}/api/v1/catalog", timeout=10).status_code == 200
    for path in ("/api/v1/unknown", "/api/v1/faults", "/api/v1/faults/worker"):
        answer = httpx.get(url + path, timeout=10)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), path
    # Fault injection is off in this stack: order_svc itself says so, reached through the gateway (the
    # gateway's own 404 says "Not found.").
    answer = httpx.get(f"{url}/api/v1/faults/orders", timeout=10)
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert answer.json()["message"] != "Not found."
    trusted = ssl.create_default_context(cafile=str(certificate / "gateway.pem"))
    assert httpx.get(f"{tls_url}/", verify=trusted, timeout=10).text == PAGE


def test_identity_svc_serves_its_own_copy_whose_origin_alone_the_services_answer_cross_origin(gateway):
    stack, url, _ = gateway
    config = stack.config
    page = httpx.get(f"{config.identity_url}/", timeout=10)
    assert page.status_code == 200
    assert page.text == PAGE
    site = httpx.get(f"{config.identity_url}/config.json", timeout=10).json()
    assert (site["orders"], site["identity"]) == (config.order_url, config.identity_url)
    assert config.order_url in page.headers["Content-Security-Policy"]
    for service in ("order_svc", "inventory_svc", "payment_svc", "notification_svc"):
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        }
        allowed = httpx.options(
            f"{config.service_url(service)}/api/v1/orders",
            headers=preflight | {"Origin": config.identity_url},
            timeout=10,
        )
        assert allowed.headers["Access-Control-Allow-Origin"] == config.identity_url, service
        assert "idempotency-key" in allowed.headers["Access-Control-Allow-Headers"], service
        other = httpx.options(
            f"{config.service_url(service)}/api/v1/orders", headers=preflight | {"Origin": url}, timeout=10
        )
        assert "Access-Control-Allow-Origin" not in other.headers, service


@pytest.mark.parametrize("origin", ["gateway", "identity_svc"])
def test_the_storefront_signs_in_and_out_from_either_origin_it_is_served_from(gateway, origin):
    stack, url, _ = gateway
    base = url if origin == "gateway" else stack.config.identity_url
    browser = Browser(base)  # the page's origin, where its OAuth calls go
    try:
        tokens = sign_up_and_get_tokens(browser, "storefront", f"{base}/", f"{unique('shopper')}@example.com")
        assert {"access_token", "id_token", "refresh_token"} <= set(tokens)
        _, challenge = pkce_pair()
        # Only the page's own address is registered.
        assert browser.authorize("storefront", f"{base}/elsewhere", challenge).status_code == 400

        signed_out = browser.http.get(
            "/oauth/logout",
            params={
                "id_token_hint": tokens["id_token"],
                "client_id": "storefront",
                "post_logout_redirect_uri": f"{base}/",
            },
        )
        assert signed_out.status_code == 302, signed_out.text
        assert signed_out.headers["Location"] == f"{base}/"
    finally:
        browser.close()

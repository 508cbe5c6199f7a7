"""`sagactl seed`, `sagactl order place` and `sagactl token` against a small fake of the services'
REST API and of identity_svc's development token path: the requests they send (bodies,
Idempotency-Keys, tokens), what they print, and their exit codes. The real token path is exercised
by the end-to-end tests.
"""

import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from chassis.tokens import DEV_AUDIENCE, DEV_ISSUER, ROLE_OPERATOR, LocalKeys
from infra import demo_data
from infra.identity import DEV_SECRET_HEADER, StackSecrets
from infra.sagactl import main

FAKE_KEYS: list[LocalKeys] = []


def claims_of(token: str, var_dir) -> dict:
    """The claims of a token, verified against the fake identity provider's key."""
    (keys,) = FAKE_KEYS
    return jwt.decode(
        token, jwt.PyJWK(keys.public_jwk).key, algorithms=["EdDSA"], audience=DEV_AUDIENCE, issuer=DEV_ISSUER
    )


def bearer(headers: dict) -> str:
    scheme, _, token = headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


@dataclass
class FakeServices:
    """Products, accounts and orders in memory; every order confirms on its second read."""

    port: int = 0
    requests: list[tuple[str, str, dict, dict]] = field(default_factory=list)  # method, path, headers, body
    products: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)
    orders: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    reject_orders_with: tuple[int, dict] | None = None
    keys: LocalKeys | None = None
    dev_secret: str = ""
    tokens_issued: int = 0

    def answer(self, method: str, path: str, headers: dict, body: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/dev/v1/tokens":
            if headers.get(DEV_SECRET_HEADER) != self.dev_secret or self.keys is None:
                return 401, {"code": "not_authenticated", "message": "no secret", "details": {}}
            self.tokens_issued += 1
            token = self.keys.issue(
                subject=body["subject"], roles=body["roles"], ttl_seconds=body["ttl_seconds"]
            )
            return 201, {"access_token": token, "token_type": "Bearer", "expires_in": body["ttl_seconds"]}
        self.requests.append((method, path, headers, body))
        if method == "POST" and path == "/api/v1/users":
            return self._create(self.users, body["subject"], body, "user_exists")
        if method == "POST" and path == "/api/v1/products":
            return self._create(self.products, body["sku"], body, "product_exists")
        if method == "POST" and path == "/api/v1/accounts":
            return self._create(self.accounts, body["customer_id"], body, "account_exists")
        if method == "POST" and path == "/api/v1/orders":
            if self.reject_orders_with:
                return self.reject_orders_with
            order = {"id": str(uuid.uuid4()), "status": "PENDING", "cancellation_reason": None, "reads": 0}
            order |= {"total_cents": None, "currency": "USD", "customer_id": body["customer_id"]}
            order["workflow_id"] = f"order-{order['id']}"
            self.orders[order["id"]] = order
            return 202, order
        if method == "GET" and (match := re.fullmatch(r"/api/v1/orders/([-0-9a-f]+)/saga", path)):
            done = self.orders[match[1]]["status"] == "CONFIRMED"
            steps = [
                {
                    "name": name,
                    "state": "done" if done else "pending",
                    "attempts": 1 if done else 0,
                    "last_error": None,
                    "started_at": None,
                    "finished_at": None,
                    "compensated_at": None,
                }
                for name in (
                    "reserve_stock",
                    "authorize_payment",
                    "capture_payment",
                    "commit_stock",
                    "confirm_order",
                )
            ]
            return 200, {"order_id": match[1], "status": "COMPLETED" if done else "RUNNING", "steps": steps}
        if method == "GET" and (match := re.fullmatch(r"/api/v1/orders/([-0-9a-f]+)", path)):
            order = self.orders[match[1]]
            order["reads"] += 1
            if order["reads"] >= 2:
                order |= {"status": "CONFIRMED", "total_cents": 6180}
            return 200, order
        return 404, {"code": "not_found", "message": "no such path", "details": {}}

    @staticmethod
    def _create(store: dict, key: str, body: dict, exists_code: str) -> tuple[int, dict]:
        if key in store:
            return 409, {"code": exists_code, "message": f"{key} exists", "details": {}}
        store[key] = body
        return 201, body


@pytest.fixture
def var_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A var dir of the test's own, so the local key pair sagactl makes is the test's."""
    monkeypatch.setenv("SAGA_VAR_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch, var_dir) -> Iterator[FakeServices]:
    """The fake on one free port, which every service port variable points at; its token path signs
    with a key of the test's own and opens to the secret the stack generated in `var_dir`."""
    keys = LocalKeys.ensure(var_dir / "fake-identity-keys")
    FAKE_KEYS[:] = [keys]
    fake = FakeServices(keys=keys, dev_secret=StackSecrets.ensure(var_dir / "identity").dev_token_secret)

    class Handler(BaseHTTPRequestHandler):
        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            status, answer = fake.answer(self.command, self.path, dict(self.headers), body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _respond

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    for variable in ("ORDER_SVC_PORT", "PAYMENT_SVC_PORT", "INVENTORY_SVC_PORT", "IDENTITY_SVC_PORT"):
        monkeypatch.setenv(variable, str(fake.port))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def test_seed_creates_the_demo_data_then_finds_it_present(services, var_dir, capsys):
    assert main(["seed"]) == 0
    first = capsys.readouterr().out
    assert main(["seed"]) == 0
    second = capsys.readouterr().out

    assert set(services.products) == {product.sku for product in demo_data.PRODUCTS}
    assert set(services.accounts) == {customer.customer_id for customer in demo_data.CUSTOMERS}
    assert set(services.users) == {"alice", "bob", "carol", "operator"}
    assert any(product.on_hand == 0 for product in demo_data.PRODUCTS)
    created = len(demo_data.PRODUCTS) + len(demo_data.CUSTOMERS) + len(demo_data.USERS)
    assert first.count(demo_data.CREATED) == created
    assert second.count(demo_data.ALREADY_PRESENT) == created
    assert "sagactl order place --customer carol" in first
    assert "alice@shop.example" in first  # how to sign in as alice
    assert "alice-saga-demo" in first
    # Accounts before users: a registration finds carol's small account there, not a signup credit.
    paths = [path for _, path, _, _ in services.requests][: len(services.requests) // 2]  # the first seed
    assert paths.index("/api/v1/users") > max(i for i, path in enumerate(paths) if path == "/api/v1/accounts")
    keys = [headers["Idempotency-Key"] for _, _, headers, _ in services.requests]
    half = len(keys) // 2
    assert keys[:half] == keys[half:]  # deterministic: a rerun sends the same keys
    assert keys[0].startswith("seed-product-BEANS-1KG-")
    for _, _, headers, _ in services.requests:  # the catalog and accounts are the operator's
        assert ROLE_OPERATOR in claims_of(bearer(headers), var_dir)["roles"]


def test_order_place_prints_id_status_and_workflow_link(services, var_dir, monkeypatch, capsys):
    monkeypatch.delenv("TEMPORAL_UI_PORT", raising=False)

    code = main(["order", "place", "--customer", "alice", "--item", "BEANS-1KG:2", "--item", "MUG-CERAMIC:1"])

    out = capsys.readouterr().out
    (order_id,) = services.orders
    _, path, headers, body = services.requests[0]
    assert code == 0
    assert path == "/api/v1/orders"
    assert body == {
        "customer_id": "alice",
        "items": [{"sku": "BEANS-1KG", "quantity": 2}, {"sku": "MUG-CERAMIC", "quantity": 1}],
    }
    uuid.UUID(headers["Idempotency-Key"])
    placed_as = claims_of(bearer(headers), var_dir)
    assert (placed_as["sub"], placed_as["roles"]) == ("alice", [])  # alice's own token
    assert f"order {order_id}  PENDING" in out
    assert f"http://127.0.0.1:8233/namespaces/default/workflows/order-{order_id}" in out
    assert len(services.requests) == 1


def test_order_place_wait_follows_the_order_to_its_final_status(services, capsys):
    code = main(
        ["order", "place", "--customer", "alice", "--item", "BEANS-1KG:2", "--wait", "--timeout", "5"]
    )

    out = capsys.readouterr().out
    (order_id,) = services.orders
    assert code == 0
    assert f"order {order_id}  CONFIRMED  reason -  total 61.80 USD" in out
    # The steps, as the saga reported them last: every one done.
    assert [
        line.split()[:2]
        for line in out.splitlines()
        if line.split()[:1] in (["reserve_stock"], ["confirm_order"])
    ] == [["reserve_stock", "done"], ["confirm_order", "done"]]


def test_a_service_error_prints_its_code_and_message_with_exit_code_1(services, capsys):
    services.reject_orders_with = (
        400,
        {"code": "validation_error", "message": "items: too many lines", "details": {}},
    )

    code = main(["order", "place", "--customer", "alice", "--item", "BEANS-1KG:2"])

    assert code == 1
    assert (
        capsys.readouterr().err == "sagactl: order_svc answered 400 validation_error: items: too many lines\n"
    )


def test_an_unreachable_service_is_one_line_and_exit_code_1(services, monkeypatch, capsys):
    monkeypatch.setenv("ORDER_SVC_PORT", "1")

    code = main(["order", "place", "--customer", "alice", "--item", "BEANS-1KG:2"])

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("sagactl: order_svc at http://127.0.0.1:1 did not answer (ConnectError")
    assert err.endswith("is `sagactl up` running?\n")
    assert err.count("\n") == 1


def test_token_prints_a_customer_token_alone_valid_for_an_hour(services, var_dir, capsys):
    assert main(["token", "--customer", "alice"]) == 0

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    claims = claims_of(out.strip(), var_dir)
    assert (claims["sub"], claims["roles"], claims["exp"] - claims["iat"]) == ("alice", [], 3600)


def test_token_for_an_operator_with_a_ttl(services, var_dir, capsys):
    assert main(["token", "--operator", "--ttl", "120"]) == 0

    claims = claims_of(capsys.readouterr().out.strip(), var_dir)
    assert (claims["roles"], claims["exp"] - claims["iat"]) == ([ROLE_OPERATOR], 120)


def test_token_opens_identity_svc_s_development_path_with_the_stack_s_own_secret(services, var_dir, capsys):
    main(["token", "--operator"])
    main(["token", "--customer", "bob"])

    assert services.tokens_issued == 2
    secrets_file = var_dir / "identity" / "secrets.json"
    assert secrets_file.stat().st_mode & 0o077 == 0  # private: owner only
    assert (var_dir / "identity").stat().st_mode & 0o077 == 0


def test_token_without_identity_svc_is_one_line_and_exit_code_1(var_dir, monkeypatch, capsys):
    monkeypatch.setenv("IDENTITY_SVC_PORT", "1")

    assert main(["token", "--customer", "alice"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("sagactl: identity_svc at http://127.0.0.1:1 is not reachable")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["token", "--customer", "alice", "--ttl", "0"],
        ["token", "--operator", "--ttl", "9999999"],
        ["token", "--customer", "not a customer id"],
    ],
)
def test_bad_token_requests_are_one_line_and_exit_code_2(var_dir, argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("sagactl: ")
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize("argv", [["token"], ["token", "--operator", "--customer", "alice"]])
def test_token_names_exactly_one_caller(var_dir, argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


def test_order_show_prints_the_order_and_its_steps(services, var_dir, capsys):
    main(["order", "place", "--customer", "alice", "--item", "BEANS-1KG:2"])
    (order_id,) = services.orders
    capsys.readouterr()

    assert main(["order", "show", order_id]) == 0

    out = capsys.readouterr().out
    assert f"order {order_id}  PENDING" in out
    assert [line.split()[0] for line in out.splitlines()[2:]] == [
        "reserve_stock",
        "authorize_payment",
        "capture_payment",
        "commit_stock",
        "confirm_order",
    ]
    _, path, headers, _ = services.requests[-1]
    assert path == f"/api/v1/orders/{order_id}/saga"
    assert ROLE_OPERATOR in claims_of(bearer(headers), var_dir)["roles"]


def test_order_show_refuses_what_is_not_an_order_id(var_dir, capsys):
    assert main(["order", "show", "42"]) == 2
    assert capsys.readouterr().err.startswith("sagactl: bad order id '42'")

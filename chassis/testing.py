"""Test helpers for the services' own test suites (never imported by running code).

Each service's conftest loads this module as a pytest plugin (`pytest_plugins = ["chassis.testing"]`):
every test then trusts a key pair made for the session, starts with empty throttle counters, and
can call the API as each kind of caller: `anonymous`, `customer("alice")`, `operator`, `saga`, `auditor`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.apps.registry import Apps
from rest_framework.test import APIClient

from chassis.tokens import LocalKeys
from saga_contract import FAULTS_PATH

if TYPE_CHECKING:
    from pytest_django import Settings

    # What DRF's test client answers, as the stubs call it: a Response with the client's `json()`.
    from rest_framework.response import _MonkeyPatchedResponse as ClientResponse


class ApiClient:
    """DRF's test client, with a bearer token when given one and a fresh Idempotency-Key on every
    POST unless one is given. `key=""` sends no key at all; `raw=` sends bytes as they are."""

    def __init__(self, token: str | None = None) -> None:
        self.client = APIClient()
        if token is not None:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(
        self, path: str, body: Any = None, *, key: str | None = None, raw: bytes | None = None, **headers: str
    ) -> ClientResponse:
        if key != "":
            headers["Idempotency-Key"] = key or str(uuid.uuid4())
        if raw is not None:
            return self.client.generic(
                "POST",
                path,
                raw,  # type: ignore[arg-type]  # Django sends bytes as they are; the stubs ask for str
                content_type="application/json",
                headers=headers,
            )
        return self.client.post(path, body if body is not None else {}, format="json", headers=headers)

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> ClientResponse:
        return self.client.get(path, params or {}, headers=headers)

    def put(self, path: str, body: Any = None) -> ClientResponse:
        return self.client.put(path, body if body is not None else {}, format="json")

    def delete(self, path: str) -> ClientResponse:
        return self.client.delete(path)


CALLER_KINDS = ("customer", "operator", "saga", "auditor")


@dataclass(frozen=True)
class Endpoint:
    """One row of a service's access table: who may call it, and what the right caller gets."""

    method: str
    path: str
    allowed: frozenset[str]
    success: int
    body: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def call(self, client: ApiClient) -> ClientResponse:
        if self.method == "POST":
            return client.post(self.path, self.body)
        if self.method == "PUT":
            return client.put(self.path, self.body)
        if self.method == "DELETE":
            return client.delete(self.path)
        return client.get(self.path)


def access_cases(endpoints: list[Endpoint]) -> tuple[list[pytest.ParameterSet], list[pytest.ParameterSet]]:
    """pytest params (endpoint, kind) of every allowed call, and of every call by a kind not allowed."""
    right = [pytest.param(e, kind, id=f"{kind}-{e}") for e in endpoints for kind in sorted(e.allowed)]
    wrong = [
        pytest.param(e, kind, id=f"{kind}-{e}")
        for e in endpoints
        for kind in CALLER_KINDS
        if kind not in e.allowed
    ]
    return right, wrong


def assert_error(response: ClientResponse, status: int, code: str) -> None:
    """`response` is a `status` answer in the one error shape, with machine code `code`."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    assert body["message"]


def assert_refused(
    call: Callable[[], ClientResponse], status: int, code: str, *, state: Callable[[], object]
) -> None:
    """`call()` is refused with `status` and `code` in the error shape (a 401 names the Bearer scheme)
    and changes nothing `state()` can see."""
    before = state()
    response = call()
    assert_error(response, status, code)
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer ")
    assert state() == before


@pytest.fixture(scope="session")
def local_keys(tmp_path_factory: pytest.TempPathFactory) -> LocalKeys:
    """A key pair of the test session's own, like the one `sagactl` makes under var/keys."""
    return LocalKeys.ensure(tmp_path_factory.mktemp("keys"))


@pytest.fixture(autouse=True)
def _trust_local_keys(settings: Settings, local_keys: LocalKeys) -> None:
    settings.JWT_JWKS_URL = None
    settings.JWT_JWKS_FILE = str(local_keys.jwks_file)


@pytest.fixture(autouse=True)
def _fresh_throttle_counters(settings: Settings) -> None:
    """Throttle counters of the test's own: a local-memory cache (never a shared Redis), emptied."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient()


@pytest.fixture
def customer(local_keys: LocalKeys) -> Callable[..., ApiClient]:
    """`customer("alice")`: a client holding alice's token."""
    return lambda customer_id="alice": ApiClient(local_keys.customer_token(customer_id))


@pytest.fixture
def operator(local_keys: LocalKeys) -> ApiClient:
    return ApiClient(local_keys.operator_token())


@pytest.fixture
def saga(local_keys: LocalKeys) -> ApiClient:
    return ApiClient(local_keys.saga_token())


@pytest.fixture
def auditor(local_keys: LocalKeys) -> ApiClient:
    return ApiClient(local_keys.auditor_token())


@pytest.fixture
def callers(
    customer: Callable[..., ApiClient], operator: ApiClient, saga: ApiClient, auditor: ApiClient
) -> dict[str, ApiClient]:
    """One client of each kind, by kind; the customer is alice."""
    return {"customer": customer("alice"), "operator": operator, "saga": saga, "auditor": auditor}


def migrate_to(targets: list[tuple[str, str]]) -> Apps:
    """Migrate the test database to `targets` and return the historical apps of that state
    (for tests of data migrations)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def migrations() -> Iterator[Callable[[list[tuple[str, str]]], Apps]]:
    """`migrate_to` for a data migration's test, with the database migrated back to the latest
    state afterwards, for the tests that follow."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    yield migrate_to
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def api_schema_problems(*, public: Collection[str] = ()) -> list[str]:
    """What is wrong with this service's OpenAPI schema, as its tests see it: drf-spectacular's own
    warnings and errors, and any of the API's operations that is missing, or documented without
    its id, bearer security, error shape and examples, or Idempotency-Key. The GETs of the paths in
    `public` need no token: their security must be empty, and they answer no 401 or 403."""
    import io
    import json
    import tempfile

    from django.core.management import call_command
    from drf_spectacular.generators import EndpointEnumerator

    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        call_command(
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--format",
            "openapi-json",
            "--file",
            out.name,
            stderr=io.StringIO(),
        )
        schema = json.loads(Path(out.name).read_text())
    problems = []
    routes = {
        (path, method.lower())
        for path, _, method, _ in EndpointEnumerator().get_api_endpoints()  # type: ignore[no-untyped-call]  # unannotated in drf-spectacular
        if path.startswith(("/api/v1/", "/internal/v1/")) and path != FAULTS_PATH
    }
    documented = {(path, method) for path, operations in schema["paths"].items() for method in operations}
    problems += [f"{method.upper()} {path} is not documented" for path, method in sorted(routes - documented)]
    problems += [
        f"{method.upper()} {path} is documented but not served"
        for path, method in sorted(documented - routes)
    ]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            if not operation.get("operationId", "").isalnum() or not operation.get("summary"):
                problems.append(f"{where}: no camelCase operationId or no summary")
            opened = method == "get" and path in public
            if operation.get("security") != ([] if opened else [{"bearerAuth": []}]):
                problems.append(f"{where}: security is {operation.get('security')}")
            for status in ("429",) if opened else ("401", "403", "429"):
                if status not in operation["responses"]:
                    problems.append(f"{where}: no {status}")
            if opened and {"401", "403"} & set(operation["responses"]):
                problems.append(f"{where}: needs no token, yet documents 401 or 403")
            for status, answer in operation["responses"].items():
                content = answer.get("content", {}).get("application/json", {})
                if status >= "400" and (
                    content.get("schema") != {"$ref": "#/components/schemas/Error"}
                    or not content.get("examples")
                ):
                    problems.append(f"{where}: {status} is not the error shape with an example")
                if status < "300" and "schema" not in content:
                    problems.append(f"{where}: {status} has no schema")
            if method == "post":
                headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
                if "Idempotency-Key" not in headers:
                    problems.append(f"{where}: no Idempotency-Key")
                body = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if body is not None and not body.get("examples"):
                    problems.append(f"{where}: a body without an example")
    return problems


def production_environment(**overrides: str | None) -> dict[str, str]:
    """A complete production environment of the chassis's settings, none of them a development
    default; a service's own suite adds its own with `overrides`, and `NAME=None` leaves NAME out."""
    environ: dict[str, str | None] = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        # Nothing listens on port 1: `check` (without --database) must not connect to run.
        "DATABASE_URL": "postgres://u:p@127.0.0.1:1/x",
        "ALLOWED_HOSTS": "shop.example",
        "JWT_ISSUER": "https://idp.example/realms/shop",
        "JWT_AUDIENCE": "saga-orders",
        "JWT_JWKS_URL": "https://idp.example/jwks",
        "JWT_SAGA_SUBJECTS": "service-account-saga-worker",
        "JWT_AUDITOR_SUBJECTS": "service-account-saga-auditor",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "NUM_PROXIES": "1",
        "EVENTS_BROKER_URL": "amqp://saga:secret@rabbitmq.example:5672/shop",
        **overrides,
    }
    return {name: value for name, value in environ.items() if value is not None}


def manage_py(
    service_dir: Path, *args: str, environ: dict[str, str], var_dir: Path
) -> subprocess.CompletedProcess[str]:
    """`manage.py <args>` of the service in `service_dir`, in a process that sees `environ` and
    nothing of this one's: settings loaded afresh, as a deployment starts them."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=service_dir,
        env={"PATH": os.environ["PATH"], "SAGA_VAR_DIR": str(var_dir), **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage_py_process(service_dir: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """`manage.py <args>` of the service in `service_dir`, running (a consumer, a notifier) with `env`
    alone; its standard output and error together."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=service_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def publish_on_filesystem(folder: Path, *events: Any, headers: dict[str, str] | None = None) -> None:
    """Publish `events` on the embedded broker in `folder` as their services' publishers would: each to
    its source's exchange, its type the routing key, its id the message id."""
    from kombu import Producer

    from chassis.events.broker import broker_connection, service_exchange
    from saga_contract.events import SOURCES, EventType

    with broker_connection("filesystem://", folder) as connection:
        producer = Producer(connection.channel())
        for event in events:
            producer.publish(
                event,
                exchange=service_exchange(SOURCES[EventType(event["type"])]),
                routing_key=event["type"],
                serializer="json",
                headers=headers or {},
                message_id=event["id"],
            )

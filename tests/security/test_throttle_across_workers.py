"""A limit is one limit however many processes serve it. inventory_svc runs here under gunicorn with
several worker processes on the embedded default (no REDIS_URL, so the counters live in files under
the var directory), and one customer's burst, each request on a fresh connection, meets 429 within
one limit's worth of requests: not once per worker.

The customer calls an operator's endpoint, so each request is refused with 403 after the throttle has
counted it (chassis.api): the service needs no tables, and starts in seconds. gunicorn's access log
names the worker process behind each answer, which shows that the burst was spread over them. Its
tokens are signed by a key of the test's own, whose JWKS a small HTTP server here publishes.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from chassis.tokens import LocalKeys
from infra.stack.processes import answers_200
from tests.support.standalone import published_jwks, standalone_service

WORKERS = 3
LIMIT = 20
PRODUCTS = "/api/v1/products"


@dataclass
class Service:
    url: str
    keys: LocalKeys
    access_log: Path

    def pids(self, status: int | None = None) -> list[str]:
        """The worker process of each answer logged so far, with `status` only when given."""
        lines = [line.split() for line in self.access_log.read_text().splitlines()]
        return [pid for pid, code, *_ in lines if status is None or code == str(status)]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    var_dir = tmp_path_factory.mktemp("throttled-service")
    keys = LocalKeys.ensure(var_dir / "provider")
    access_log = var_dir / "access.log"
    log_format = ("--access-logfile", str(access_log), "--access-logformat", "%(p)s %(s)s %(U)s")
    with (
        published_jwks(keys) as jwks_url,
        standalone_service(
            "inventory_svc",
            var_dir,
            {"THROTTLE_REQUESTS": f"{LIMIT}/min", "JWT_JWKS_URL": jwks_url},
            workers=WORKERS,
            argv=log_format,
        ) as (url, process),
    ):
        running = Service(url, keys, access_log)
        # Every worker answers before the burst starts: a worker still importing Django would leave
        # the burst to the others.
        deadline = time.monotonic() + 30.0
        while len(set(running.pids())) < WORKERS and time.monotonic() < deadline:
            answers_200(f"{url}/readyz")
        assert len(set(running.pids())) == WORKERS, process.log_tail()
        yield running


def get_on_a_fresh_connection(service: Service, token: str) -> httpx.Response:
    """One request on a connection of its own (closed after it), which any worker may accept."""
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{service.url}{PRODUCTS}", headers=headers, timeout=10.0, trust_env=False)


def test_a_burst_spread_over_every_worker_meets_429_within_one_limit(service):
    token = service.keys.customer_token("burst-customer")
    # Were every worker counting alone, the burst would pass LIMIT requests in each of them.
    statuses = []
    while 429 not in statuses and len(statuses) < LIMIT * WORKERS + 1:
        statuses.append(get_on_a_fresh_connection(service, token).status_code)

    assert 429 in statuses, f"no 429 in {len(statuses)} requests"
    first_refusal = statuses.index(429) + 1
    assert first_refusal <= LIMIT + WORKERS, statuses
    assert set(statuses[: first_refusal - 1]) == {403}, statuses
    counted_by = service.pids(status=403)
    assert len(set(counted_by)) >= 2, f"one worker served the whole burst: {counted_by}"

    refused = get_on_a_fresh_connection(service, token)
    assert refused.status_code == 429
    body = refused.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == "throttled"
    assert body["message"]
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert body["details"] == {"retry_after_seconds": retry_after}

    another = service.keys.customer_token("another-customer")
    assert get_on_a_fresh_connection(service, another).status_code == 403, "a limit of its own"

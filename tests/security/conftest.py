"""Fixtures of the security suite: one real, chaos-enabled stack for the module (so a test can slow
the saga down, and the faults endpoint exists to be attacked), with order placements limited to
PLACEMENTS_PER_MINUTE per customer so that a burst meets the limit quickly; and helpers that send a
request as any caller, with any token, to any service.
"""

from collections.abc import Iterator

import httpx
import pytest

from infra.stack import Stack, StackConfig
from tests.support.api import Api

PLACEMENTS_PER_MINUTE = 5
TUNING = {"THROTTLE_ORDER_PLACEMENTS": f"{PLACEMENTS_PER_MINUTE}/min"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("security-stack"), chaos=True, tuning=TUNING)
    with Stack(config) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[Api]:
    with Api.for_stack(stack) as client:
        yield client


class Attacker:
    """Sends one request to one service as the holder of `token` (None: no Authorization header)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.http = httpx.Client(timeout=10.0, trust_env=False)

    def send(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None,
        json: dict | None = None,
        key: str | None = "attack-key",
        headers: dict | None = None,
    ) -> httpx.Response:
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if method in ("POST", "PUT") and key is not None:
            headers["Idempotency-Key"] = key
        body = json if json is not None else ({} if method in ("POST", "PUT") else None)
        return self.http.request(method, f"{self.api.urls[service]}{path}", json=body, headers=headers)


@pytest.fixture(scope="module")
def attacker(api: Api) -> Iterator[Attacker]:
    attacker = Attacker(api)
    yield attacker
    attacker.http.close()

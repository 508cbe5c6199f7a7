"""A chaos-enabled stack for the resilience tests, tuned so outages play out in seconds:
breakers open after 3 failures and try again after 3 s, the saga deadline is 25 s."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from infra.stack import Stack, StackConfig
from observability.logs import parse_line
from tests.support.api import Api

SAGA_DEADLINE_SECONDS = 25
BREAKER_RESET_SECONDS = 3
TUNING = {
    "ORDER_SAGA_DEADLINE_SECONDS": str(SAGA_DEADLINE_SECONDS),
    "BREAKER_FAIL_MAX": "3",
    "BREAKER_RESET_SECONDS": str(BREAKER_RESET_SECONDS),
}


@pytest.fixture(scope="session")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("chaos-stack"), chaos=True, tuning=TUNING)
    with Stack(config) as running:
        yield running


@pytest.fixture
def api(chaos_stack: Stack) -> Iterator[Api]:
    with Api.for_stack(chaos_stack) as client:
        yield client


class Faults:
    """Drives each service's /api/v1/faults and reads what the services logged."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.urls = {"order": stack.order_url, "payment": stack.payment_url, "inventory": stack.inventory_url}
        self.operator = {"Authorization": f"Bearer {stack.config.tokens().operator_token()}"}

    def set(self, service: str, **config) -> None:
        response = httpx.put(f"{self.urls[service]}/api/v1/faults", json=config, headers=self.operator)
        assert response.status_code == 200, response.text

    def injected(self, service: str) -> dict[str, int]:
        return httpx.get(f"{self.urls[service]}/api/v1/faults", headers=self.operator).json()["injected"]

    def clear_all(self) -> None:
        for url in self.urls.values():
            assert httpx.delete(f"{url}/api/v1/faults", headers=self.operator).status_code == 204

    def wait_until_injected(self, service: str, kind: str, at_least: int = 1, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.injected(service)[kind] < at_least:
            assert time.monotonic() < deadline, f"no {kind} fault injected on {service} within {timeout} s"
            time.sleep(0.1)

    def requests(self, service: str, path: str, order_id: str) -> list[dict]:
        """The requests a service logged for one order on one path: what it really received."""
        return [
            line
            for line in _json_lines(self.stack.config.log_dir / f"{service}_svc.log")
            if line.get("logger") == "chassis.request"
            and line.get("path") == path
            and line.get("order_id") == order_id
        ]

    def worker_metric(self, name: str, **labels: str) -> float:
        """The sum of the worker's `name` samples that carry `labels`, as Prometheus would scrape it."""
        text = httpx.get(self.stack.config.worker_metrics_url, timeout=10).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            # The parser names a counter's samples `<name>_total`, as the OpenMetrics convention has it.
            if sample.name in (name, f"{name}_total") and labels.items() <= sample.labels.items()
        )

    def worker_log(self) -> list[dict]:
        return _json_lines(self.stack.config.log_dir / "worker.log")


def _json_lines(path: Path) -> list[dict]:
    return [line for line in map(parse_line, path.read_text().splitlines()) if line is not None]


@pytest.fixture
def faults(chaos_stack: Stack) -> Iterator[Faults]:
    faults = Faults(chaos_stack)
    faults.clear_all()
    yield faults
    faults.clear_all()

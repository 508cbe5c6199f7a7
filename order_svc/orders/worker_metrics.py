"""Which of the saga's circuit breakers are open, read from the orchestrator workers' Prometheus endpoints.

The breakers live in the worker processes, and each worker serves the gauge BREAKER_OPEN_METRIC per
service on its metrics endpoint. This module asks every endpoint settings.ORDER_WORKER_METRICS_URLS
names, each within a short deadline, and combines the answers. It never touches the database, and an
endpoint that does not answer only makes what it would have said unknown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum

import httpx
from prometheus_client.parser import text_string_to_metric_families

from saga_contract import BREAKER_OPEN_METRIC, SAGA_SERVICES

logger = logging.getLogger(__name__)

MAX_METRICS_BYTES = 4 * 1024 * 1024
"""A worker's whole exposition is some tens of kilobytes; an answer larger than this is not read."""


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    """Open, or half-open (letting one trial call through): either way the service is failing fast."""
    UNKNOWN = "unknown"
    """No worker that answered has a breaker for the service (or no worker answered)."""


def breaker_states(*, urls: Sequence[str], timeout_seconds: float) -> dict[str, BreakerState]:
    """Each service's breaker state across the workers at `urls`, asked at once: open when any worker
    reports it open, closed when every worker that reports it reports it closed, unknown when none
    does. The saga's services come first, in SAGA_SERVICES's order, then any other a worker reports."""
    if urls:
        with ThreadPoolExecutor(max_workers=min(len(urls), 8), thread_name_prefix="worker-metrics") as pool:
            answers = list(pool.map(lambda url: _breakers_at(url, timeout_seconds), urls))
    else:
        answers = []
    return combine_breaker_reports([answer for answer in answers if answer is not None])


def combine_breaker_reports(reports: Sequence[Mapping[str, float]]) -> dict[str, BreakerState]:
    """Each worker's gauge values by service, combined into one state per service."""
    services = list(SAGA_SERVICES) + sorted(
        {service for report in reports for service in report} - set(SAGA_SERVICES)
    )
    states = {}
    for service in services:
        values = [report[service] for report in reports if service in report]
        if not values:
            states[service] = BreakerState.UNKNOWN
        elif any(value >= 1 for value in values):
            states[service] = BreakerState.OPEN
        else:
            states[service] = BreakerState.CLOSED
    return states


def breakers_in_exposition(text: str) -> dict[str, float]:
    """The gauge's value per `service` label in a Prometheus text exposition. Raises ValueError when
    the text cannot be parsed."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != BREAKER_OPEN_METRIC:
            continue
        for sample in family.samples:
            service = sample.labels.get("service")
            if sample.name == BREAKER_OPEN_METRIC and service:
                found[service] = max(found.get(service, 0.0), sample.value)
    return found


def _breakers_at(url: str, timeout_seconds: float) -> dict[str, float] | None:
    """The breakers one worker reports, or None when it cannot be read within `timeout_seconds`."""
    deadline = time.monotonic() + timeout_seconds
    try:
        with httpx.stream("GET", url, timeout=timeout_seconds, follow_redirects=False) as response:
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_METRICS_BYTES:
                    raise ValueError(f"more than {MAX_METRICS_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"not read within {timeout_seconds:g} s")
        return breakers_in_exposition(body.decode())
    except (httpx.HTTPError, ValueError) as error:
        logger.warning(
            "worker metrics not readable",
            extra={"fields": {"url": url, "error": f"{type(error).__name__}: {error}"}},
        )
        return None

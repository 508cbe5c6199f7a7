"""The saga's own metrics, served by the worker's Prometheus endpoint beside the Temporal SDK's.

Workflow code counts through `workflow.metric_meter()` (nothing is counted again while a history
replays), activities through `activity.metric_meter()`, the breakers through the worker runtime's
meter. The names are Prometheus's as `infra/deploy/prometheus` and the Grafana dashboard query them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pybreaker
from temporalio import activity, workflow
from temporalio.common import MetricMeter

from saga_contract import BREAKER_OPEN_METRIC, STEPS, Compensation, Step

COMPENSATABLE_STEPS = (str(Step.RESERVE_STOCK), str(Step.AUTHORIZE_PAYMENT))

ORDERS = "saga_orders"
"""Counter, by `outcome` (CONFIRMED, CANCELLED) and `reason` (empty when confirmed)."""
DURATION = "saga_duration"
"""Histogram, seconds from placement to final, by `outcome`."""
COMPENSATIONS = "saga_compensations"
"""Counter, compensations run, by the `step` they undo."""
RETRIES = "saga_activity_retries"
"""Counter, activity attempts beyond the first, by `step`."""
BREAKER_OPEN = BREAKER_OPEN_METRIC
"""Gauge, 1 while the `service`'s circuit breaker is open (or half-open: one trial call), else 0."""
AUDIT_VIOLATIONS = "saga_audit_violations"
"""Gauge, the violations the last audit this worker ran found, by `invariant`."""
AUDIT_LAST_RUN = "saga_audit_last_run_timestamp_seconds"
"""Gauge, the Unix time at which the last audit this worker ran finished."""
AUDIT_LAST_CLEAN_RUN = "saga_audit_last_clean_run_timestamp_seconds"
"""Gauge, the Unix time at which the last audit this worker ran that found nothing finished."""


def start_at_zero(meter: MetricMeter) -> None:
    """Series for every step at 0 from the worker's start, so that a rate over them, and a panel
    that shows them, has data before the first compensation or retry ever happens."""
    compensations = meter.create_counter(COMPENSATIONS, "Compensations run, by step undone")
    for step in COMPENSATABLE_STEPS:
        compensations.add(0, {"step": step})
    retries = meter.create_counter(RETRIES, "Activity attempts beyond the first, by step")
    for step in (*STEPS, *Compensation):
        retries.add(0, {"step": str(step)})


def saga_finished(outcome: str, reason: str | None, placed_at: datetime) -> None:
    """In the workflow, once: the order's outcome and its time from placement to final."""
    meter = workflow.metric_meter()
    meter.create_counter(ORDERS, "Orders whose saga ended, by outcome and reason").add(
        1, {"outcome": str(outcome), "reason": str(reason or "")}
    )
    meter.create_histogram_timedelta(DURATION, "Time from placement to final").record(
        max(workflow.now() - placed_at, timedelta(0)), {"outcome": str(outcome)}
    )


def compensation_ran(step: str) -> None:
    """In the workflow, after the undo of `step` succeeded."""
    workflow.metric_meter().create_counter(COMPENSATIONS, "Compensations run, by step undone").add(
        1, {"step": step}
    )


def attempt_started() -> None:
    """In an activity: counts the attempt if it is a retry."""
    info = activity.info()
    if info.attempt > 1:
        activity.metric_meter().create_counter(RETRIES, "Activity attempts beyond the first, by step").add(
            1, {"step": info.activity_type}
        )


def audit_finished(violations: dict[str, int], *, at: float) -> None:
    """In the audit's activity, once it has read everything: its violations by invariant, and when.

    Each worker reports the runs it made; the alert rules pick the latest run across workers."""
    meter = activity.metric_meter()
    found = meter.create_gauge(AUDIT_VIOLATIONS, "Violations the last audit found, by invariant")
    for invariant, count in violations.items():
        found.set(count, {"invariant": invariant})
    meter.create_gauge(AUDIT_LAST_RUN, "Unix time of the last audit").set(int(at))
    if not any(violations.values()):
        meter.create_gauge(AUDIT_LAST_CLEAN_RUN, "Unix time of the last audit that found nothing").set(
            int(at)
        )


class BreakerStateGauge(pybreaker.CircuitBreakerListener):
    """Keeps `saga_breaker_open{service}` equal to the breaker's state."""

    def __init__(self, meter: MetricMeter, service: str) -> None:
        self._gauge = meter.create_gauge(BREAKER_OPEN, "1 while the service's circuit breaker is not closed")
        self._service = service
        self._gauge.set(0, {"service": service})

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        self._gauge.set(0 if new_state.name == pybreaker.STATE_CLOSED else 1, {"service": self._service})

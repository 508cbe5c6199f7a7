"""The retry arithmetic the resilience table of docs/resilience.md states: inner attempts × Temporal attempts."""

from datetime import timedelta

from temporalio.common import RetryPolicy

from orchestrator import clients
from orchestrator.policies import (
    ATTEMPT_TIMEOUT,
    BEFORE_PIVOT,
    UNTIL_SUCCESS,
    attempts_within,
    worst_case_http_calls,
)


def test_attempts_follow_the_backoff_schedule() -> None:
    policy = RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=10)
    )
    # Attempts start at 0, 1, 3, 7, 15, 25, 35 s: seven fit in 35 s, six in 34 s.
    assert attempts_within(policy, timedelta(seconds=35)) == 7
    assert attempts_within(policy, timedelta(seconds=34)) == 6


def test_documented_worst_cases() -> None:
    """docs/resilience.md: keep these figures and its table in step."""
    assert clients.INNER_ATTEMPTS == 3
    # Reserve and authorize, within the default 300 s saga deadline.
    assert attempts_within(BEFORE_PIVOT, timedelta(seconds=300)) == 33
    assert worst_case_http_calls(BEFORE_PIVOT, timedelta(seconds=300)) == 99
    # Capture, commit, confirm and compensations: unbounded by design, bounded per hour.
    assert attempts_within(UNTIL_SUCCESS, timedelta(hours=1)) == 65
    assert worst_case_http_calls(UNTIL_SUCCESS, timedelta(hours=1)) == 195


def test_inner_retries_end_well_inside_one_attempt() -> None:
    timeout = clients._TIMEOUT
    slowest_single_call = timeout.pool + timeout.connect + timeout.write + timeout.read
    assert clients._INNER_BUDGET_SECONDS + slowest_single_call < ATTEMPT_TIMEOUT.total_seconds()


def test_business_errors_are_never_retried_by_any_policy() -> None:
    for policy in (BEFORE_PIVOT, UNTIL_SUCCESS):
        assert {"out_of_stock", "unknown_sku", "payment_declined"} <= set(policy.non_retryable_error_types)
        assert policy.maximum_attempts == 0

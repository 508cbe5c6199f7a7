"""Temporal retry policies of the saga's steps, and the arithmetic of their worst case.

Inner retries (clients.py, a few seconds) run inside one activity attempt; these policies are the
durable outer loop. `worst_case_http_calls` bounds what the two multiply into, so the resilience page's
figures are computed, not guessed. The two task priorities say which steps a backlogged task queue
hands out first. Pure data and arithmetic: safe inside the workflow sandbox.
"""

from datetime import timedelta

from temporalio.common import Priority, RetryPolicy

from orchestrator.clients import INNER_ATTEMPTS
from orchestrator.contracts import BUSINESS_ERROR_TYPES

ATTEMPT_TIMEOUT = timedelta(seconds=30)
"""Start-to-close timeout of one attempt of any activity; the inner retries stay well inside it."""

HEARTBEAT_TIMEOUT = timedelta(seconds=5)
"""An attempt whose worker stops heartbeating (killed, cut off) is retried after this long."""

HEARTBEAT_INTERVAL = timedelta(seconds=1)
"""How often a running activity heartbeats: well inside HEARTBEAT_TIMEOUT."""

BEFORE_PIVOT = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=0,  # bounded by the saga deadline (schedule-to-close) instead
    non_retryable_error_types=list(BUSINESS_ERROR_TYPES),
)
"""Reserve and authorize: retried until the saga deadline, then compensated as `timed_out`."""

UNTIL_SUCCESS = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=0,
    non_retryable_error_types=list(BUSINESS_ERROR_TYPES),
)
"""Compensations, capture (the pivot), commit, confirm and the final cancel: until they succeed."""

SETTLING_PRIORITY = Priority(priority_key=1)
"""Task priority of the steps that settle money already moving: capture (the pivot), commit, confirm,
every compensation and the final cancel. A lower key goes first, and keys run from 1 to 5 on a
default server, so these go first of all: when activity tasks queue up behind a slow or
short-handed worker, a saga that holds a customer's money or stock finishes (or gives it back)
before another saga starts taking some."""

FORWARD_PRIORITY = Priority(priority_key=3)
"""Task priority of the steps before the pivot (reserve and authorize). It is Temporal's default key,
the one every activity without a priority gets, so new sagas neither overtake nor yield to other
work on the task queue; only settling steps go ahead of them. Keys 4 and 5 stay free for
background work that should wait for both."""


def attempts_within(policy: RetryPolicy, window: timedelta) -> int:
    """The most attempts Temporal can start within `window`, if every attempt failed at once."""
    interval = policy.initial_interval
    maximum = policy.maximum_interval or interval * 100
    elapsed, attempts = timedelta(0), 0
    while elapsed <= window:
        attempts += 1
        elapsed += interval
        interval = min(interval * policy.backoff_coefficient, maximum)
    return attempts


def worst_case_http_calls(policy: RetryPolicy, window: timedelta) -> int:
    """Upper bound on HTTP calls one step sends within `window`: Temporal attempts × inner attempts.

    An open circuit breaker only lowers it: while open, an attempt sends nothing.
    """
    return attempts_within(policy, window) * INNER_ATTEMPTS

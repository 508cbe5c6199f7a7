"""Circuit breakers: one pybreaker breaker per downstream service, opened only by ill health.

Transport errors and 5xx answers count as failures; business answers (4xx with a domain code)
and "not now" answers that are not 5xx (429, idempotency_in_flight) do not. State lives in this
process, or in Redis when a URL is given, so that every worker process sees the same breaker.
This module builds and watches breakers; it never makes a call itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pybreaker

from orchestrator.errors import BusinessError, ServiceUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BreakerSettings:
    fail_max: int = 5
    """Consecutive failures that open the breaker."""
    reset_seconds: float = 10.0
    """How long an open breaker fails fast before it lets one trial call through."""
    redis_url: str | None = None
    """Shared state across worker processes; None keeps it in this process."""
    redis_timeout_seconds: float = 0.5
    """How long a call waits for the shared state before it fails (and the breaker with it)."""


def _not_ill_health(error: BaseException) -> bool:
    """Answers that say nothing about the service's health (pybreaker's `exclude`)."""
    if isinstance(error, BusinessError):
        return True
    return isinstance(error, ServiceUnavailable) and error.status_code < 500


class _LogStateChanges(pybreaker.CircuitBreakerListener):
    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        logger.warning(
            "circuit breaker %s: %s -> %s",
            cb.name,
            old_state.name if old_state else "none",
            new_state.name,
            extra={"service": cb.name, "breaker_state": new_state.name},
        )


class ServiceBreaker:
    """A pybreaker breaker for one service plus what callers need: the time left while open."""

    def __init__(
        self,
        service: str,
        settings: BreakerSettings,
        *,
        listeners: Sequence[pybreaker.CircuitBreakerListener] = (),
    ) -> None:
        self.service = service
        self.reset_seconds = settings.reset_seconds
        self._storage = _storage(service, settings)
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=settings.fail_max,
            reset_timeout=settings.reset_seconds,
            exclude=[_not_ill_health],
            listeners=[_LogStateChanges(), *listeners],
            state_storage=self._storage,
            name=service,
        )

    @property
    def state(self) -> str:
        return self.breaker.current_state

    def seconds_until_trial(self) -> float:
        """While open, how long until the breaker lets a trial call through (0 when not open)."""
        opened_at = self._storage.opened_at
        if self.state != pybreaker.STATE_OPEN or opened_at is None:
            return 0.0
        elapsed = (datetime.now(UTC) - opened_at).total_seconds()
        return max(0.0, self.reset_seconds - elapsed)


def _storage(service: str, settings: BreakerSettings) -> pybreaker.CircuitBreakerStorage:
    if settings.redis_url is None:
        return pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
    import redis

    return pybreaker.CircuitRedisStorage(
        pybreaker.STATE_CLOSED,
        redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
        ),
        namespace=f"saga-orders:{service}",
    )

"""The outbox relay: starts the saga of every committed order, and retries until it is started.

`outbox_due` claims due records in one short transaction; the starts happen after it, with no
transaction open; `outbox_mark_started` and `outbox_retry_later` record each outcome in a short
transaction of its own. Several relays may run at once: a claim is a short lease (other relays skip
the record until it lapses), and a start that meets an existing workflow id counts as started, so a
record started twice (a relay that died between start and mark) starts one workflow. An idle relay
sleeps until a placement wakes it (orders.outbox_wakeup) or OUTBOX_POLL_SECONDS pass.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import F
from django.utils import timezone
from opentelemetry import propagate, trace

from observability.logs import log_context
from orders.models import OutboxRecord
from orders.outbox_wakeup import RelayWakeups
from orders.saga import saga_gateway
from saga_contract import OrderSagaInput

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

MAX_ERROR_LENGTH = 2000
_STOP_CHECK_SECONDS = 0.25  # an idle relay notices its stop signal at least this often


def outbox_due(*, limit: int, lease_seconds: float, now: datetime | None = None) -> list[OutboxRecord]:
    """Claim up to `limit` records whose saga is not started and whose next attempt is due, oldest
    due first: each is leased for `lease_seconds` (its next attempt moves that far ahead)."""
    now = now or timezone.now()
    due_now = OutboxRecord.objects.filter(started_at__isnull=True, next_attempt_at__lte=now)
    if not due_now.exists():  # a plain read: an idle relay never takes the database's write lock
        return []
    with transaction.atomic():
        due = list(due_now.select_for_update(skip_locked=True).order_by("next_attempt_at", "id")[:limit])
        if due:
            OutboxRecord.objects.filter(pk__in=[record.pk for record in due]).update(
                next_attempt_at=now + timedelta(seconds=lease_seconds)
            )
    return due


def outbox_mark_started(*, record: OutboxRecord, now: datetime | None = None) -> None:
    """The saga exists in Temporal: this record is done (a second mark changes nothing)."""
    OutboxRecord.objects.filter(pk=record.pk, started_at__isnull=True).update(
        started_at=now or timezone.now(), attempts=F("attempts") + 1
    )


def outbox_retry_later(*, record: OutboxRecord, error: str, now: datetime | None = None) -> timedelta:
    """The start failed: record why and when to try again (backoff by the attempts so far)."""
    delay = retry_delay(failures=record.attempts + 1)
    OutboxRecord.objects.filter(pk=record.pk, started_at__isnull=True).update(
        attempts=F("attempts") + 1,
        last_error=error[:MAX_ERROR_LENGTH],
        next_attempt_at=(now or timezone.now()) + delay,
    )
    return delay


def retry_delay(*, failures: int) -> timedelta:
    """OUTBOX_RETRY_FIRST_SECONDS, doubling per failure up to OUTBOX_RETRY_MAX_SECONDS, jittered
    down by up to half so that relays and records that failed together do not retry together."""
    ceiling = min(
        settings.OUTBOX_RETRY_MAX_SECONDS, settings.OUTBOX_RETRY_FIRST_SECONDS * 2 ** min(max(failures, 1) - 1, 30)
    )
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


@dataclass(frozen=True)
class StartOutcome:
    record: OutboxRecord
    created: bool | None = None  # True: started now; False: it existed already; None: failed
    error: str | None = None
    span: trace.SpanContext = trace.INVALID_SPAN_CONTEXT  # of the start, for the lines logged about it


def _start(gateway, record: OutboxRecord) -> StartOutcome:
    """One start, outside any transaction (runs on the relay's pool), as a span of the order's trace."""
    placement = propagate.extract(record.trace_context or {})
    with tracer.start_as_current_span(
        "outbox relay: start saga", context=placement, kind=trace.SpanKind.PRODUCER,
        attributes={"saga.order_id": str(record.order_id), "saga.workflow_id": record.workflow_id,
                    "outbox.attempt": record.attempts + 1},
    ) as span:
        try:
            created = gateway.start(workflow_id=record.workflow_id, saga_input=OrderSagaInput(**record.payload))
        except Exception as error:  # Temporal down or slow, or a payload the contract no longer takes
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            return StartOutcome(record, error=f"{type(error).__name__}: {error}", span=span.get_span_context())
        span.set_attribute("outbox.created", created)
    return StartOutcome(record, created=created, span=span.get_span_context())


class OutboxRelay:
    """Claims due records, starts their sagas (several at once), records the outcomes; again and again."""

    def __init__(self) -> None:
        self.poll_seconds = settings.OUTBOX_POLL_SECONDS
        self.lease_seconds = settings.OUTBOX_LEASE_SECONDS
        # A batch is as many records as there are starts in flight at once, so that a whole batch is
        # done within one start's deadline, well inside its lease. One start at a time runs in the
        # relay's own thread; more run on a pool of threads that wait on the one Temporal client
        # (they never touch the database).
        self.batch_size = settings.OUTBOX_RELAY_CONCURRENCY
        self._pool = ThreadPoolExecutor(self.batch_size, thread_name_prefix="relay") if self.batch_size > 1 else None

    def relay_batch(self) -> int:
        """One claim and its starts; the number of records claimed."""
        records = outbox_due(limit=self.batch_size, lease_seconds=self.lease_seconds)
        gateway = saga_gateway()
        starts = self._pool.map if self._pool is not None else map
        for outcome in starts(lambda record: _start(gateway, record), records):
            self._record(outcome)
        return len(records)

    def drain(self) -> int:
        """Relay until nothing is due now (what failed waits for its backoff); the records handled."""
        handled = 0
        while count := self.relay_batch():
            handled += count
        return handled

    def run(self, stop: threading.Event) -> None:
        """Relay until `stop` is set: at once while records are due; when idle, as soon as a placement
        wakes it, or after poll_seconds (records whose retry falls due, leases that lapse, a lost
        wake-up). A failure of the relay itself (the database away) is logged and retried with backoff."""
        wakeups = RelayWakeups()
        failures = 0
        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    busy = self.relay_batch()
                    failures = 0
                except Exception:
                    failures += 1
                    delay = retry_delay(failures=failures).total_seconds()
                    logger.exception("outbox relay failed; retrying", extra={"fields": {"retry_in_s": round(delay, 3)}})
                    stop.wait(delay)
                    continue
                if not busy:
                    self._idle(stop, wakeups)
        finally:
            wakeups.close()
            connections.close_all()

    def _idle(self, stop: threading.Event, wakeups: RelayWakeups) -> None:
        """Wait for a wake-up or poll_seconds, whichever is first, looking at `stop` in between."""
        deadline = time.monotonic() + self.poll_seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or wakeups.wait(min(remaining, _STOP_CHECK_SECONDS)):
                return

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _record(self, outcome: StartOutcome) -> None:
        record = outcome.record
        order_id = str(record.order_id)
        with trace.use_span(trace.NonRecordingSpan(outcome.span)), \
                log_context(order_id=order_id, workflow_id=record.workflow_id):
            if outcome.error is None:
                outbox_mark_started(record=record)
                since_placed_ms = round((time.time() - record.created_at.timestamp()) * 1000, 1)
                logger.info(
                    "saga started" if outcome.created else "saga already started",
                    extra={"fields": {"attempts": record.attempts + 1, "since_placed_ms": since_placed_ms}},
                )
                return
            delay = outbox_retry_later(record=record, error=outcome.error)
            logger.warning(
                "saga start failed; retrying later",
                extra={"fields": {
                    "error": outcome.error, "attempts": record.attempts + 1,
                    "retry_in_s": round(delay.total_seconds(), 3),
                }},
            )

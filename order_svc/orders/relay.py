"""The outbox relay: starts the saga of every committed order, and retries until it is started.

`outbox_due` claims due records in one statement; the starts happen after it, all of a claim at once
on the saga gateway's loop, with no transaction open; `outbox_mark_started` then marks the started
records in one statement and `outbox_retry_later` each failed one with its own backoff. Several relays
may run at once: a claim is a short lease (other relays skip the record until it lapses), and a start
that meets an existing workflow id counts as started, so a record started twice (a relay that died
between start and mark) starts one workflow. An idle relay sleeps until a placement wakes it
(chassis.wakeups, channel OUTBOX_CHANNEL) or OUTBOX_POLL_SECONDS pass.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, connections
from django.db.models import F, Field
from django.db.models.expressions import Col
from django.utils import timezone
from opentelemetry import propagate, trace

from chassis.backoff import jittered_backoff
from chassis.wakeups import Wakeups
from orders.models import OUTBOX_CHANNEL, OutboxRecord
from orders.saga_gateway import SagaStart, saga_gateway
from saga_contract import OrderSagaInput

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

MAX_ERROR_LENGTH = 2000
_STOP_CHECK_SECONDS = 0.25  # an idle relay notices its stop signal at least this often


def outbox_any_due(*, now: datetime | None = None) -> bool:
    """Whether a record is due: a plain read, so that a relay that polls an idle outbox never takes
    the database's write lock."""
    with connection.cursor() as cursor:
        cursor.execute(_statements(connection.vendor).any_due, {"now": _db_datetime(now or timezone.now())})
        return cursor.fetchone() is not None


def outbox_due(
    *, limit: int, lease_seconds: float, now: datetime | None = None, due_by: datetime | None = None
) -> list[OutboxRecord]:
    """Claim up to `limit` records whose saga is not started and whose next attempt is due (by
    `due_by`, else now), oldest due first: each is leased for `lease_seconds` (its next attempt
    moves that far ahead). One statement reads and leases them; on PostgreSQL it skips the rows
    another relay is claiming."""
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=lease_seconds)
    statements = _statements(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(
            statements.claim,
            {"lease_until": _db_datetime(lease_until), "now": _db_datetime(due_by or now), "limit": limit},
        )
        rows = cursor.fetchall()
    converters = [  # the columns whose values the ORM converts (dates on SQLite, JSON), and how
        (index, column, converts)
        for index, column in enumerate(statements.columns)
        if (
            converts := [
                *connection.ops.get_db_converters(column),
                *column.field.get_db_converters(connection),
            ]
        )
    ]
    claimed = []
    for row in rows:
        values = list(row)
        for index, column, converts in converters:
            for convert in converts:
                values[index] = convert(values[index], column, connection)
        claimed.append(OutboxRecord.from_db(connection.alias, statements.attnames, values))
    return sorted(claimed, key=lambda record: (record.created_at, record.pk))


def outbox_mark_started(*, records: Sequence[OutboxRecord], now: datetime | None = None) -> None:
    """Their sagas exist in Temporal: these records are done, in one statement (a second mark
    changes nothing)."""
    if not records:
        return
    ids = [record.pk for record in records]
    with connection.cursor() as cursor:
        cursor.execute(
            _statements(connection.vendor).mark_started.format(ids=", ".join(["%s"] * len(ids))),
            [_db_datetime(now or timezone.now()), *ids],
        )


@dataclass(frozen=True)
class _Statements:
    """The relay's hot statements in SQL, written once per database vendor: the ORM took more of
    the relay's CPU building them, each time, than the database took running them."""

    any_due: str
    claim: str  # returns `columns`, in their order
    mark_started: str  # `{ids}`: a placeholder for each record
    columns: tuple[Col, ...]  # what a claim returns, as the ORM converts it
    attnames: tuple[str, ...]  # the model's attribute of each column


@functools.cache
def _statements(vendor: str) -> _Statements:
    meta = OutboxRecord._meta
    quoted = {field.name: _quoted_column(field) for field in meta.concrete_fields}
    table, pk = connection.ops.quote_name(meta.db_table), _quoted_column(meta.pk)
    started_at, next_attempt_at, attempts = (
        quoted[name] for name in ("started_at", "next_attempt_at", "attempts")
    )
    due = f"{started_at} IS NULL AND {next_attempt_at} <= %(now)s"
    oldest_due = f"SELECT {pk} FROM {table} WHERE {due} ORDER BY {next_attempt_at}, {pk} LIMIT %(limit)s"
    lease = f"UPDATE {table} SET {next_attempt_at} = %(lease_until)s"
    if vendor == "postgresql":
        # The records are chosen once, in a CTE, and then leased. As `WHERE pk IN (sub-select)`, a
        # planner that thinks the table nearly empty (statistics taken when it held a record or
        # two) runs the sub-select again for each row it scans, each run skipping the rows this
        # statement has just leased: one claim took every due record, not `limit`. SKIP LOCKED
        # passes over the rows another relay is claiming.
        claim = (
            f"WITH claimed AS MATERIALIZED ({oldest_due} FOR UPDATE SKIP LOCKED)"
            f" {lease} FROM claimed WHERE {table}.{pk} = claimed.{pk}"
            f" RETURNING {', '.join(f'{table}.{column}' for column in quoted.values())}"
        )
    else:  # SQLite runs a sub-select that does not refer to the outer row once, and has one writer at a time
        claim = f"{lease} WHERE {pk} IN ({oldest_due}) RETURNING {', '.join(quoted.values())}"
    return _Statements(
        any_due=f"SELECT 1 FROM {table} WHERE {due} LIMIT 1",
        claim=claim,
        mark_started=(
            f"UPDATE {table} SET {started_at} = %s, {attempts} = {attempts} + 1"
            f" WHERE {pk} IN ({{ids}}) AND {started_at} IS NULL"
        ),
        columns=tuple(field.get_col(meta.db_table) for field in meta.concrete_fields),
        attnames=tuple(field.attname for field in meta.concrete_fields),
    )


def _quoted_column(field: Field[Any, Any]) -> str:
    """The quoted column of a concrete field, which always has one."""
    assert field.column is not None
    return connection.ops.quote_name(field.column)


def _db_datetime(value: datetime) -> datetime | str | None:
    """`value` as the database's driver takes it: text on SQLite, the datetime itself on PostgreSQL."""
    return connection.ops.adapt_datetimefield_value(value)


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
    return timedelta(
        seconds=jittered_backoff(
            failures, first=settings.OUTBOX_RETRY_FIRST_SECONDS, ceiling=settings.OUTBOX_RETRY_MAX_SECONDS
        )
    )


@dataclass(frozen=True)
class StartOutcome:
    record: OutboxRecord
    span: trace.Span  # the start's, ended; the lines logged about the record carry its ids
    created: bool | None = None  # True: started now; False: it existed already; None: failed
    error: str | None = None


def _start_all(records: Sequence[OutboxRecord]) -> list[StartOutcome]:
    """Start the records' sagas at once, outside any transaction, each as a span of its order's trace."""
    spans: list[trace.Span] = []
    starts: list[SagaStart] = []
    failed: dict[int, Exception] = {}
    for record in records:
        span = tracer.start_span(
            "outbox relay: start saga",
            context=propagate.extract(record.trace_context or {}),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "saga.order_id": str(record.order_id),
                "saga.workflow_id": record.workflow_id,
                "outbox.attempt": record.attempts + 1,
            },
        )
        spans.append(span)
        try:
            saga_input = OrderSagaInput(**record.payload)
        except Exception as error:  # a payload the contract no longer takes
            failed[record.pk] = error
            continue
        starts.append(SagaStart(record.workflow_id, saga_input, context=trace.set_span_in_context(span)))
    results = iter(saga_gateway().start_all(starts))

    outcomes = []
    for record, span in zip(records, spans, strict=True):  # Each record has one span.
        result = failed.get(record.pk) or next(results)
        if isinstance(result, Exception):  # Temporal down or slow, or the payload above
            message = f"{type(result).__name__}: {result}"
            span.set_status(trace.Status(trace.StatusCode.ERROR, message))
            outcomes.append(StartOutcome(record, span, error=message))
        else:
            span.set_attribute("outbox.created", result)
            outcomes.append(StartOutcome(record, span, created=result))
        span.end()
    return outcomes


class OutboxRelay:
    """Claims due records, starts their sagas (all of a claim at once), records the outcomes; again
    and again."""

    def __init__(self) -> None:
        self.poll_seconds = settings.OUTBOX_POLL_SECONDS
        self.lease_seconds = settings.OUTBOX_LEASE_SECONDS
        # A batch is as many records as there are starts in flight at once, so that a whole batch is
        # done within one start's deadline, well inside its lease.
        self.batch_size = settings.OUTBOX_RELAY_CONCURRENCY

    def relay_batch(self, *, look_first: bool = True, due_by: datetime | None = None) -> int:
        """One claim of records due by `due_by` (else now) and their starts; the number of records
        claimed. `look_first` reads whether anything is due before claiming (a poll); a relay that
        was woken claims at once."""
        if look_first and not outbox_any_due(now=due_by):
            return 0
        records = outbox_due(limit=self.batch_size, lease_seconds=self.lease_seconds, due_by=due_by)
        if records:
            self._record(_start_all(records))
        return len(records)

    def drain(self) -> int:
        """Relay what is due as the drain begins, each record once: what fails waits for its backoff,
        even when that ends while the drain still runs. The records handled."""
        handled, began = 0, timezone.now()
        while count := self.relay_batch(due_by=began):
            handled += count
        return handled

    def run(self, stop: threading.Event) -> None:
        """Relay until `stop` is set. It claims again at once after a full batch; otherwise it waits
        until a placement wakes it (one claim then takes every record due, however many wake-ups
        came), or poll_seconds pass (records whose retry falls due, leases that lapse, a lost
        wake-up). A wake-up sent while a batch is in flight waits in the socket or the listening
        connection, so the wait that follows ends at once. The database connection is checked after
        each poll and each failure, not before every batch. A failure of the relay itself (the
        database away) is logged and retried with backoff."""
        wakeups = Wakeups(OUTBOX_CHANNEL)
        failures = 0
        woken = False
        try:
            while not stop.is_set():
                try:
                    claimed = self.relay_batch(look_first=not woken)
                    failures = 0
                except Exception:
                    failures += 1
                    delay = retry_delay(failures=failures).total_seconds()
                    logger.exception(
                        "outbox relay failed; retrying", extra={"fields": {"retry_in_s": round(delay, 3)}}
                    )
                    close_old_connections()  # a broken connection is replaced before the next attempt
                    stop.wait(delay)
                    woken = False
                    continue
                woken = claimed >= self.batch_size or self._idle(stop, wakeups)
                if not woken:
                    close_old_connections()
        finally:
            wakeups.close()
            connections.close_all()

    def _idle(self, stop: threading.Event, wakeups: Wakeups) -> bool:
        """Wait for a wake-up (True) or poll_seconds (False), whichever is first, looking at `stop`
        in between."""
        deadline = time.monotonic() + self.poll_seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if wakeups.wait(min(remaining, _STOP_CHECK_SECONDS)):
                return True
        return False

    def _record(self, outcomes: list[StartOutcome]) -> None:
        """Mark the started records in one statement and each failed one with its own backoff, then
        log a line for each, within its start's span."""
        outbox_mark_started(records=[outcome.record for outcome in outcomes if outcome.error is None])
        now = time.time()
        for outcome in outcomes:
            record = outcome.record
            ids = {"order_id": str(record.order_id), "workflow_id": record.workflow_id}
            with trace.use_span(outcome.span):
                if outcome.error is None:
                    logger.info(
                        "saga started" if outcome.created else "saga already started",
                        extra={
                            **ids,
                            "fields": {
                                "attempts": record.attempts + 1,
                                "since_placed_ms": round((now - record.created_at.timestamp()) * 1000, 1),
                            },
                        },
                    )
                    continue
                delay = outbox_retry_later(record=record, error=outcome.error)
                logger.warning(
                    "saga start failed; retrying later",
                    extra={
                        **ids,
                        "fields": {
                            "error": outcome.error,
                            "attempts": record.attempts + 1,
                            "retry_in_s": round(delay.total_seconds(), 3),
                        },
                    },
                )

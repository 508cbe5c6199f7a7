"""The transactional outbox and its relay: placing stores the order, its lines and its outbox record
in one transaction and calls no one; the relay starts each saga after commit, outside any
transaction, retries a failed start with backoff forever, and counts "already started" as started."""

import dataclasses
import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from opentelemetry import trace
from orders import relay as relay_module
from orders import services
from orders.models import Order, OrderLine, OutboxRecord
from orders.relay import OutboxRelay, outbox_due, outbox_mark_started, outbox_retry_later, retry_delay
from orders.saga_gateway import SagaUnreachable

from saga_contract import OrderItem, OrderSagaInput, workflow_id
from tests.factories import order_create

pytestmark = pytest.mark.django_db

ITEMS = [("MUG", 2), ("TEA", 1)]


def record_of(order) -> OutboxRecord:
    return OutboxRecord.objects.get(order_id=order.id)


def make_due(*orders) -> None:
    """Skip the backoff: the records' next attempt is now."""
    OutboxRecord.objects.filter(order_id__in=[o.id for o in orders]).update(next_attempt_at=timezone.now())


# --- placement ---


@pytest.mark.django_db(transaction=True)
def test_placing_writes_the_order_its_lines_its_outbox_record_and_its_event_and_nothing_else(sagas):
    with CaptureQueriesContext(connection) as queries:
        order = services.order_place(customer_id="alice", items=ITEMS)

    writes = [q["sql"].split()[:3] for q in queries if not q["sql"].startswith("SELECT")]
    tables = [words[2].strip('"') for words in writes if words[0] == "INSERT"]
    assert tables == ["orders_order", "orders_orderline", "orders_outboxrecord", "events_outboxevent"]
    kinds = [words[0] for words in writes]  # SQLite shows its BEGIN and COMMIT, PostgreSQL not
    assert [k for k in kinds if k not in ("BEGIN", "COMMIT", "NOTIFY")] == ["INSERT"] * 4, writes
    notified = 2 * (connection.vendor == "postgresql")
    assert kinds.count("NOTIFY") == notified, "PostgreSQL wakes the relay and the publisher in it"
    assert kinds.count("BEGIN") <= 1, "one transaction"
    assert kinds.count("COMMIT") <= 1, "one transaction"
    assert sagas.calls == [], "no Temporal call at placement"

    record = record_of(order)
    assert record.workflow_id == workflow_id(order.id) == order.workflow_id
    assert record.started_at is None
    assert record.attempts == 0
    assert record.last_error == ""
    assert record.next_attempt_at <= timezone.now()


@pytest.mark.django_db(transaction=True)
def test_when_the_outbox_record_cannot_be_written_nothing_is_stored(customer, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(OutboxRecord.objects, "create", broken)
    r = customer("alice").post("/api/v1/orders", {"items": [{"sku": "MUG", "quantity": 1}]})

    assert r.status_code == 503
    assert r.json()["code"] == "database_unavailable"
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()


def test_the_outbox_payload_is_exactly_the_workflows_input():
    """Fails when OrderSagaInput and what order_svc writes drift apart."""
    order = services.order_place(customer_id="alice", items=ITEMS)
    payload = record_of(order).payload

    assert set(payload) == {field.name for field in dataclasses.fields(OrderSagaInput)}
    assert all(
        set(item) == {field.name for field in dataclasses.fields(OrderItem)} for item in payload["items"]
    )
    saga_input = OrderSagaInput(**payload)
    assert saga_input.as_payload() == payload
    assert json.loads(json.dumps(payload)) == payload
    assert saga_input == OrderSagaInput(
        order_id=str(order.id),
        customer_id="alice",
        items=[OrderItem("MUG", 2), OrderItem("TEA", 1)],
        currency="USD",
        deadline_seconds=saga_input.deadline_seconds,
        placed_at=order.created_at.isoformat(),
    )
    assert saga_input.deadline_seconds > 0
    assert saga_input.summary


# --- the relay's steps ---


def test_due_records_are_claimed_oldest_first_and_leased():
    first, second, started = order_create(), order_create(), order_create(saga_started=True)
    later = order_create()
    OutboxRecord.objects.filter(order=later).update(next_attempt_at=timezone.now() + timedelta(minutes=1))

    claimed = outbox_due(limit=10, lease_seconds=15)

    assert [r.order_id for r in claimed] == [first.id, second.id]
    assert outbox_due(limit=10, lease_seconds=15) == [], "leased to the first relay"
    in_a_while = timezone.now() + timedelta(seconds=16)
    assert [r.order_id for r in outbox_due(limit=10, lease_seconds=15, now=in_a_while)] == [
        first.id,
        second.id,
    ]
    assert started.id not in [r.order_id for r in outbox_due(limit=10, lease_seconds=15, now=in_a_while)]


def test_a_claim_takes_at_most_limit_records():
    orders = [order_create() for _ in range(3)]
    assert [r.order_id for r in outbox_due(limit=2, lease_seconds=15)] == [o.id for o in orders[:2]]
    assert [r.order_id for r in outbox_due(limit=2, lease_seconds=15)] == [orders[2].id]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's statistics are PostgreSQL's")
def test_a_claim_takes_at_most_limit_records_when_the_planners_statistics_are_stale():
    """Statistics taken while the outbox held one record make the planner scan the table and look
    each row up in the claim's choice of records: a choice it must not make again per row."""
    order_create(saga_started=True)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboxRecord._meta.db_table}")
    orders = [order_create() for _ in range(10)]

    claimed = outbox_due(limit=4, lease_seconds=15)

    assert [r.order_id for r in claimed] == [o.id for o in orders[:4]]
    assert OutboxRecord.objects.filter(next_attempt_at__gt=timezone.now()).count() == 4, "only those leased"


def test_marking_started_is_done_once():
    record = record_of(order_create())
    outbox_mark_started(records=[record])
    first = record_of(record.order)
    outbox_mark_started(records=[record])
    assert record_of(record.order).started_at == first.started_at
    assert first.attempts == 1


@pytest.mark.parametrize("failures", range(1, 12))
def test_backoff_doubles_from_half_a_second_to_thirty_seconds_with_jitter(failures):
    ceiling = min(30.0, 0.5 * 2 ** (failures - 1))
    delays = [retry_delay(failures=failures).total_seconds() for _ in range(50)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 1, "jittered"


def test_backoff_never_exceeds_its_ceiling_however_many_failures():
    assert retry_delay(failures=10_000).total_seconds() <= 30


def test_a_failed_attempt_records_the_error_and_waits():
    record = record_of(order_create())
    now = timezone.now()
    delay = outbox_retry_later(record=record, error="RuntimeError: connection refused", now=now)
    stored = record_of(record.order)
    assert stored.started_at is None
    assert stored.attempts == 1
    assert stored.last_error == "RuntimeError: connection refused"
    assert stored.next_attempt_at == now + delay
    assert timedelta(seconds=0.25) <= delay <= timedelta(seconds=0.5)


# --- the relay ---


def test_the_relay_starts_every_due_saga_once(sagas, relay_once):
    orders = [order_create(items=(("MUG", n),)) for n in (1, 2, 3)]
    relay_once()
    relay_once()

    assert [wid for wid, _ in sagas.started] == [o.workflow_id for o in orders]
    assert [saga_input.items[0].quantity for _, saga_input in sagas.started] == [1, 2, 3]
    assert [c.method for c in sagas.calls] == ["start"] * 3, "a second run starts nothing again"
    for order in orders:
        record = record_of(order)
        assert record.started_at is not None
        assert record.attempts == 1


def test_a_failing_start_is_retried_with_backoff_until_it_succeeds(sagas, relay_once, caplog):
    order = order_create()
    sagas.script(
        start=[SagaUnreachable("Failed client connect: connection refused"), SagaUnreachable("timed out")]
    )

    relay_once()
    record = record_of(order)
    assert record.started_at is None
    assert record.attempts == 1
    assert record.last_error == "SagaUnreachable: Failed client connect: connection refused"
    assert timezone.now() < record.next_attempt_at <= timezone.now() + timedelta(seconds=0.5)
    [warning] = [r for r in caplog.records if r.message == "saga start failed; retrying later"]
    assert warning.fields["attempts"] == 1
    assert 0.25 <= warning.fields["retry_in_s"] <= 0.5

    relay_once()
    assert record_of(order).attempts == 1, "not due yet: nothing tried"

    make_due(order)
    relay_once()
    record = record_of(order)
    assert (record.started_at, record.attempts, record.last_error) == (None, 2, "SagaUnreachable: timed out")
    assert record.next_attempt_at - timezone.now() <= timedelta(seconds=1)

    make_due(order)
    relay_once()
    record = record_of(order)
    assert record.started_at is not None
    assert record.attempts == 3
    assert sagas.started == [(order.workflow_id, OrderSagaInput(**record.payload))]


def test_a_workflow_that_exists_already_counts_as_started(sagas, relay_once, caplog):
    order = order_create()
    sagas.workflows[order.workflow_id] = OrderSagaInput(
        **record_of(order).payload
    )  # a relay died before marking

    relay_once()

    assert record_of(order).started_at is not None
    assert record_of(order).last_error == ""
    assert [r.message for r in caplog.records if r.name == "orders.relay"] == [
        "saga already started",
        "outbox drained",
    ]
    assert len(sagas.started) == 1


def test_one_failing_record_does_not_hold_up_the_others(sagas, relay_once):
    stuck, fine = order_create(), order_create()
    sagas.script(start=[SagaUnreachable("deadline exceeded")])
    relay_once()
    assert record_of(stuck).started_at is None
    assert record_of(fine).started_at is not None


def test_a_payload_the_contract_no_longer_takes_is_retried_visibly_not_dropped(sagas, relay_once):
    order = order_create()
    OutboxRecord.objects.filter(order=order).update(payload={"order_id": str(order.id)})
    relay_once()
    record = record_of(order)
    assert record.started_at is None
    assert record.last_error.startswith("TypeError")
    assert sagas.started == []


def test_a_claim_of_several_records_starts_them_in_one_call_and_marks_them_in_one_statement(
    settings, sagas, relay_once, monkeypatch, caplog
):
    settings.OUTBOX_RELAY_CONCURRENCY = 4
    orders = [order_create() for _ in range(10)]
    batches, start_all = [], sagas.start_all
    monkeypatch.setattr(sagas, "start_all", lambda starts: batches.append(len(starts)) or start_all(starts))

    with CaptureQueriesContext(connection) as queries:
        relay_once()

    assert batches == [4, 4, 2]
    assert {wid for wid, _ in sagas.started} == {o.workflow_id for o in orders}
    assert not OutboxRecord.objects.filter(started_at__isnull=True).exists()
    writes = [q["sql"] for q in queries if not q["sql"].startswith("SELECT")]  # a claim may start WITH
    assert len(writes) == 6, "each batch: one claim, one mark"
    assert all(" UPDATE " in f" {sql} " for sql in writes), writes
    lines = [r for r in caplog.records if r.message == "saga started"]
    assert sorted((r.order_id, r.workflow_id) for r in lines) == sorted(
        (str(o.id), o.workflow_id) for o in orders
    )


def test_a_batch_marks_its_started_records_and_retries_only_its_failed_one(settings, sagas, relay_once):
    settings.OUTBOX_RELAY_CONCURRENCY = 3
    first, failing, last = order_create(), order_create(), order_create()
    sagas.script(start=[True, SagaUnreachable("deadline exceeded")])  # the first start, then the second

    relay_once()

    assert record_of(first).started_at is not None
    assert record_of(last).started_at is not None
    record = record_of(failing)
    assert (record.started_at, record.attempts, record.last_error) == (
        None,
        1,
        "SagaUnreachable: deadline exceeded",
    )
    assert record.next_attempt_at > timezone.now()


def test_once_tries_each_record_once_even_when_its_retry_falls_due_while_it_drains(
    settings, sagas, relay_once
):
    settings.OUTBOX_RETRY_FIRST_SECONDS = 0  # the retry is due as soon as the failure is recorded
    order = order_create()
    sagas.script(start=[SagaUnreachable("deadline exceeded"), True])

    relay_once()

    record = record_of(order)
    assert (record.started_at, record.attempts) == (None, 1)
    assert sagas.started == []


def test_each_start_runs_in_its_orders_trace(settings, sagas, relay_once, monkeypatch):
    settings.OUTBOX_RELAY_CONCURRENCY = 2
    orders = [order_create(), order_create()]
    trace_ids = {}
    for n, order in enumerate(orders, start=1):
        trace_ids[order.workflow_id] = n * 0x1111
        traceparent = f"00-{n * 0x1111:032x}-{n:016x}-01"
        OutboxRecord.objects.filter(order=order).update(trace_context={"traceparent": traceparent})
    contexts, start_all = {}, sagas.start_all

    def start_all_recording(starts):
        contexts.update({start.workflow_id: start.context for start in starts})
        return start_all(starts)

    monkeypatch.setattr(sagas, "start_all", start_all_recording)
    relay_once()

    seen = {
        wid: trace.get_current_span(context).get_span_context().trace_id for wid, context in contexts.items()
    }
    assert seen == trace_ids


def test_two_relays_never_claim_the_same_record_and_a_repeated_start_is_harmless(settings, sagas):
    settings.OUTBOX_RELAY_CONCURRENCY = 2  # so each claims two records at a time
    orders = [order_create() for _ in range(4)]
    other = OutboxRelay()
    claimed_by_one = outbox_due(limit=2, lease_seconds=15)  # the first relay's claim
    assert other.relay_batch() == 2, "the other relay takes the rest"
    assert other.relay_batch() == 0
    assert {wid for wid, _ in sagas.started} == {o.workflow_id for o in orders[2:]}

    # The first relay died after starting its sagas but before marking them: its lease lapses.
    for record in claimed_by_one:
        sagas.start(workflow_id=record.workflow_id, saga_input=OrderSagaInput(**record.payload))
    OutboxRecord.objects.filter(started_at__isnull=True).update(next_attempt_at=timezone.now())
    assert other.relay_batch() == 2
    assert len(sagas.started) == 4
    assert not OutboxRecord.objects.filter(started_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_the_relay_loop_starts_new_orders_quickly_with_no_transaction_open(sagas, settings):
    settings.OUTBOX_POLL_SECONDS = 0.01
    stop, relay = threading.Event(), OutboxRelay()
    loop = threading.Thread(target=relay.run, args=(stop,))
    loop.start()
    try:
        order = services.order_place(customer_id="alice", items=ITEMS)
        deadline = time.monotonic() + 5
        while not sagas.started and time.monotonic() < deadline:
            time.sleep(0.005)
        assert [wid for wid, _ in sagas.started] == [order.workflow_id]
        assert [c.in_transaction for c in sagas.calls] == [False]
    finally:
        stop.set()
        loop.join(timeout=5)
    assert not loop.is_alive(), "the loop ends when asked"


@pytest.mark.django_db(transaction=True)
def test_the_relay_loop_survives_a_failure_of_its_own(sagas, settings, monkeypatch, caplog):
    settings.OUTBOX_POLL_SECONDS = 0.01
    settings.OUTBOX_RETRY_FIRST_SECONDS = 0.01
    real_outbox_due, failures = relay_module.outbox_due, []

    def flaky_outbox_due(**kwargs):
        if not failures:
            failures.append(1)
            raise DatabaseError("server closed the connection unexpectedly")
        return real_outbox_due(**kwargs)

    monkeypatch.setattr(relay_module, "outbox_due", flaky_outbox_due)
    order = services.order_place(customer_id="alice", items=ITEMS)
    stop, relay = threading.Event(), OutboxRelay()
    loop = threading.Thread(target=relay.run, args=(stop,))
    loop.start()
    try:
        deadline = time.monotonic() + 5
        while not sagas.started and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        stop.set()
        loop.join(timeout=5)
    assert [wid for wid, _ in sagas.started] == [order.workflow_id]
    assert any(r.message == "outbox relay failed; retrying" for r in caplog.records)


def test_a_cancel_before_the_relay_makes_the_relays_start_a_no_op(customer, sagas, relay_once):
    order_id = (
        customer("alice").post("/api/v1/orders", {"items": [{"sku": "MUG", "quantity": 1}]}).json()["id"]
    )
    assert customer("alice").post(f"/api/v1/orders/{order_id}/cancel").status_code == 202
    relay_once()
    assert [c.method for c in sagas.calls] == ["cancel", "start"]
    assert len(sagas.started) == 1
    assert record_of(Order.objects.get(id=order_id)).started_at is not None

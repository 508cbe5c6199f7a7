"""The invariant checks on hand-made snapshots: the cases a healthy stack cannot be brought into on
demand (a saga stuck past its deadline, a failed workflow, an orphan workflow, stock sold that the
catalog never had), each named by the right invariant and subject. No processes."""

from datetime import UTC, datetime, timedelta

import pytest

from infra.audit import (
    DEADLINE_GRACE_SECONDS,
    EVENTS,
    EXACTLY_ONCE,
    LIVENESS,
    MONEY,
    NOTIFICATIONS,
    STOCK,
    Snapshot,
    WorkflowState,
    check_events,
    check_exactly_once,
    check_liveness,
    check_money,
    check_notifications,
    check_stock,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ORDER = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"


def order(status="CONFIRMED", *, order_id=ORDER, total=500, reason=None, items=(("A", 2),)):
    return {
        "id": order_id,
        "status": status,
        "cancellation_reason": reason,
        "total_cents": total,
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
    }


def snapshot(**fields) -> Snapshot:
    empty = {
        "orders": {},
        "workflows": {},
        "orphan_workflows": {},
        "accounts": [],
        "merchant_cents": 0,
        "payments": [],
        "payment_events": [],
        "products": [],
        "reservations": [],
        "reservation_events": [],
        "read_workflows_at": NOW,
    }
    return Snapshot(**empty | fields)


def running_for(seconds: float) -> WorkflowState:
    return WorkflowState("RUNNING", NOW - timedelta(seconds=seconds), None)


def found(result) -> list[tuple[str, str]]:
    return [(violation.invariant, violation.subject) for violation in result.violations]


@pytest.mark.parametrize(
    ("age", "payment_status", "stuck"),
    [
        (10, "AUTHORIZED", False),
        (300 + DEADLINE_GRACE_SECONDS + 1, "AUTHORIZED", True),
        (300 + DEADLINE_GRACE_SECONDS + 1, "CAPTURED", False),  # past the pivot: may retry for ever
    ],
)
def test_a_pending_saga_is_live_within_its_deadline_or_once_captured(age, payment_status, stuck):
    state = snapshot(
        orders={ORDER: order("PENDING")},
        workflows={ORDER: running_for(age)},
        payments=[{"order_id": ORDER, "customer_id": "c", "amount_cents": 500, "status": payment_status}],
    )

    result = check_liveness(state, deadline_seconds=300)

    assert found(result) == ([(LIVENESS, f"order {ORDER}")] if stuck else [])


def test_a_final_order_whose_workflow_has_not_returned_yet_is_live():
    state = snapshot(orders={ORDER: order()}, workflows={ORDER: running_for(3600)})
    assert check_liveness(state, deadline_seconds=300).ok


@pytest.mark.parametrize("status", ["FAILED", "TERMINATED", "TIMED_OUT", "CANCELED"])
def test_a_workflow_that_did_not_complete_is_a_violation(status):
    state = snapshot(orders={ORDER: order("PENDING")}, workflows={ORDER: WorkflowState(status, NOW, None)})

    [violation] = check_liveness(state, deadline_seconds=300).violations

    assert (violation.subject, violation.detail) == (
        f"order {ORDER}",
        f"PENDING, but its workflow is {status}",
    )


def test_a_completed_workflow_with_a_pending_order_and_an_orphan_workflow_are_violations():
    result = {"order_id": ORDER, "status": "CONFIRMED", "reason": None, "total_cents": 500}
    state = snapshot(
        orders={ORDER: order("PENDING")},
        workflows={ORDER: WorkflowState("COMPLETED", NOW, result)},
        orphan_workflows={f"order-{OTHER}": "order_svc has no such order"},
        reservation_events=[
            {"order_id": OTHER, "kind": "RESERVED", "idempotency_key": f"order-{OTHER}:reserve_stock"}
        ],
    )

    checked = check_liveness(state, deadline_seconds=300)

    assert checked.checked == 2
    assert found(checked) == [(LIVENESS, f"order {ORDER}"), (LIVENESS, f"workflow order-{OTHER}")]
    assert checked.violations[0].detail == "PENDING, but its workflow returned CONFIRMED"
    assert checked.violations[1].detail == "order_svc has no such order, yet it had effects"


def test_an_orphan_workflow_that_did_nothing_is_an_abandoned_saga_not_a_violation():
    state = snapshot(orphan_workflows={f"order-{OTHER}": "order_svc has no such order"})

    assert check_liveness(state, deadline_seconds=300).violations == []


def test_money_names_the_customer_whose_books_do_not_balance_and_every_order_that_keeps_money():
    state = snapshot(
        orders={ORDER: order("CANCELLED", reason="timed_out"), OTHER: order(order_id=OTHER)},
        accounts=[
            {"customer_id": "ann", "balance_cents": 400, "held_cents": 100, "deposited_cents": 600},
            {"customer_id": "bob", "balance_cents": 0, "held_cents": 0, "deposited_cents": 500},
        ],
        merchant_cents=500,
        payments=[
            {"order_id": ORDER, "customer_id": "ann", "amount_cents": 100, "status": "AUTHORIZED"},
            {"order_id": OTHER, "customer_id": "bob", "amount_cents": 500, "status": "CAPTURED"},
        ],
        payment_events=[{"order_id": OTHER, "kind": "CAPTURED", "amount_cents": 500}],
    )

    result = check_money(state)

    assert result.checked == 2 + 1 + 2
    assert found(result) == [(MONEY, "customer ann"), (MONEY, "all accounts"), (MONEY, f"order {ORDER}")]
    assert result.violations[0].detail == "balance 400 + held 100 + captured 0 = 500, but 600 was deposited"
    assert result.violations[2].detail == "CANCELLED, yet its payment still holds 100 (AUTHORIZED)"


def test_stock_names_over_reserved_skus_and_skus_sold_outside_the_catalog():
    state = snapshot(
        orders={ORDER: order(items=(("GONE", 1),))},
        products=[{"sku": "A", "on_hand": 2, "reserved": 3, "received": 2}],
        reservations=[{"order_id": ORDER, "status": "COMMITTED", "lines": [{"sku": "GONE", "quantity": 1}]}],
    )

    result = check_stock(state)

    assert result.checked == 2 + 1
    assert found(result) == [(STOCK, "sku A"), (STOCK, "sku GONE")]
    assert result.violations[0].detail == "available -1 < 0 (on hand 2, reserved 3)"


def test_exactly_once_accepts_keys_of_other_clients_and_names_a_saga_key_of_another_order():
    state = snapshot(
        payment_events=[
            {"order_id": ORDER, "kind": "AUTHORIZED", "idempotency_key": f"order-{ORDER}:authorize_payment"},
            {"order_id": ORDER, "kind": "VOIDED", "idempotency_key": "a-client-of-its-own"},
            {"order_id": ORDER, "kind": "CAPTURED", "idempotency_key": ""},
        ],
        reservation_events=[
            {"order_id": ORDER, "kind": "RESERVED", "idempotency_key": f"order-{OTHER}:reserve_stock"},
        ],
    )

    result = check_exactly_once(state)

    assert result.checked == 4
    assert found(result) == [(EXACTLY_ONCE, f"order {ORDER}")]
    assert result.violations[0].detail == (
        f"inventory_svc RESERVED event carries key order-{OTHER}:reserve_stock, not order-{ORDER}:reserve_stock"
    )


# --- integration events and notifications ---


def event(event_type, key=ORDER, *, published=True, age=600, event_id=None):
    stamp = (NOW - timedelta(seconds=age)).isoformat()
    return {
        "id": event_id or f"{event_type}-{key}",
        "type": event_type,
        "key": key,
        "occurred_at": stamp,
        "published_at": stamp if published else None,
        "attempts": 1 if published else 3,
    }


def told(*events, orders=None, payments=()) -> Snapshot:
    return snapshot(
        orders=orders if orders is not None else {ORDER: order("CONFIRMED")},
        payments=list(payments),
        events={"order_svc": list(events)},
        read_at=NOW,
    )


def test_each_change_told_once_and_published_is_clean():
    state = told(
        event("order.placed"),
        event("order.confirmed"),
        event("payment.captured"),
        payments=[{"order_id": ORDER, "customer_id": "c", "amount_cents": 500, "status": "CAPTURED"}],
    )
    assert found(check_events(state)) == []


@pytest.mark.parametrize(
    ("events", "subject"),
    [
        ([event("order.placed")], f"key {ORDER}"),  # the confirm was never told
        (
            [event("order.placed"), event("order.confirmed"), event("order.confirmed", event_id="x")],
            f"key {ORDER}",
        ),
        ([event("order.placed"), event("order.confirmed"), event("order.cancelled")], f"key {ORDER}"),
        (
            [event("order.placed"), event("order.confirmed", published=False)],
            "event order.confirmed-" + ORDER,
        ),
    ],
    ids=["missing", "twice", "both-final-states", "stuck-in-the-outbox"],
)
def test_a_change_told_wrongly_or_not_published_is_a_violation(events, subject):
    assert (EVENTS, subject) in found(check_events(told(*events)))


def test_an_event_still_on_its_way_is_not_a_violation_yet():
    state = told(event("order.placed"), event("order.confirmed", published=False, age=5))
    assert found(check_events(state)) == []


def test_a_voided_hold_is_told_but_a_void_of_nothing_is_not():
    payments = [
        {"order_id": ORDER, "customer_id": "c", "amount_cents": 500, "status": "VOIDED"},
        {"order_id": OTHER, "customer_id": "", "amount_cents": 0, "status": "VOIDED"},  # a tombstone
    ]
    orders = {ORDER: order("CANCELLED", reason="payment_declined"), OTHER: order("CANCELLED", order_id=OTHER)}
    events = [
        event("order.placed"),
        event("order.cancelled"),
        event("order.placed", OTHER),
        event("order.cancelled", OTHER),
    ]
    state = told(*events, orders=orders, payments=payments)
    assert found(check_events(state)) == [(EVENTS, f"key {ORDER}")], "payment.voided missing for the hold"


def notification(order_id=ORDER, *, kind="order.confirmed", status="SENT"):
    return {"id": f"n-{order_id}-{kind}", "order_id": order_id, "type": kind, "status": status, "attempts": 1}


def notified(*notifications, status="CONFIRMED", final_for=600) -> Snapshot:
    final = {**order(status), "updated_at": (NOW - timedelta(seconds=final_for)).isoformat()}
    return snapshot(orders={ORDER: final}, notifications=list(notifications), read_at=NOW)


def test_a_final_order_notified_once_is_clean():
    assert found(check_notifications(notified(notification()))) == []


@pytest.mark.parametrize(
    "state",
    [
        notified(),
        notified(notification(), notification(kind="order.cancelled")),
        notified(notification(kind="order.cancelled")),
        notified(notification(status="PENDING")),
        notified(notification(), notification(OTHER)),
    ],
    ids=["none", "twice", "of-the-other-state", "never-sent", "of-an-unknown-order"],
)
def test_a_final_order_not_notified_exactly_once_is_a_violation(state):
    assert found(check_notifications(state)), "a violation is found"
    assert {invariant for invariant, _ in found(check_notifications(state))} == {NOTIFICATIONS}


def test_a_notification_on_its_way_is_not_a_violation_yet():
    assert found(check_notifications(notified(final_for=5))) == []
    assert found(check_notifications(notified(notification(status="PENDING"), final_for=5))) == []

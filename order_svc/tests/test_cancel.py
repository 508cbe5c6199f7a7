"""POST /api/v1/orders/{id}/cancel: the saga answers (the cancel Update), order_svc maps its answer.

Accepted → 202 with the order; refused → 409 `order_not_cancellable` with the saga's reason; Temporal
unreachable → 503 `saga_unavailable`, never stored under the Idempotency-Key; a final order is refused
without asking; another customer's order is not found. No transaction is open while Temporal answers.
"""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from orders.models import Order
from orders.saga_gateway import CancelRefused, SagaUnreachable

from chassis.idempotency.models import IdempotencyRecord
from chassis.idempotency.services import request_fingerprint
from chassis.testing import assert_error
from saga_contract import OrderSagaInput
from tests.factories import order_create

pytestmark = pytest.mark.django_db


def cancel(client, order, **kwargs):
    return client.post(f"/api/v1/orders/{order.id}/cancel", {}, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_an_accepted_cancel_is_202_with_the_order_and_temporal_is_asked_outside_any_transaction(
    customer, sagas
):
    order = order_create(customer_id="alice", saga_started=True)

    r = cancel(customer("alice"), order)

    assert r.status_code == 202, r.content
    assert r.json()["id"] == str(order.id)
    assert r.json()["status"] == "PENDING"
    assert [(c.method, c.workflow_id, c.in_transaction) for c in sagas.calls] == [
        ("cancel", order.workflow_id, False)
    ]
    assert IdempotencyRecord.objects.get().status_code == 202


def test_a_cancel_before_the_saga_started_sends_its_input_along_to_start_it(customer, sagas):
    order = order_create(customer_id="alice", items=(("MUG", 3),))

    assert cancel(customer("alice"), order).status_code == 202

    assert sagas.workflows == {order.workflow_id: OrderSagaInput(**order.outbox.payload)}
    assert sagas.cancelled == [order.workflow_id]


def test_an_operator_cancels_any_order(operator, sagas):
    order = order_create(customer_id="bob")
    assert cancel(operator, order).status_code == 202
    assert sagas.cancelled == [order.workflow_id]


@pytest.mark.parametrize("reason", ["pivot_passed", "final", "already_cancelling"])
def test_a_cancel_the_saga_refuses_is_409_with_its_reason(customer, sagas, reason):
    order = order_create(customer_id="alice", saga_started=True)
    sagas.script(cancel=[CancelRefused(reason)])

    r = cancel(customer("alice"), order)

    assert_error(r, 409, "order_not_cancellable")
    assert r.json()["details"] == {"order_id": str(order.id), "reason": reason}
    assert Order.objects.get(id=order.id).status == "PENDING"


@pytest.mark.parametrize("status", ["CONFIRMED", "CANCELLED"])
def test_a_final_order_is_409_final_without_asking_temporal(customer, sagas, status):
    order = order_create(customer_id="alice", status=status, saga_started=True)

    r = cancel(customer("alice"), order)

    assert_error(r, 409, "order_not_cancellable")
    assert r.json()["details"]["reason"] == "final"
    assert sagas.calls == []


def test_temporal_unreachable_is_503_not_stored_and_the_same_key_runs_afresh(customer, sagas):
    order = order_create(customer_id="alice", saga_started=True)
    alice = customer("alice")
    sagas.script(cancel=[SagaUnreachable("the cancel Update got no answer in time")])

    r = cancel(alice, order, key="cancel-1")

    assert_error(r, 503, "saga_unavailable")
    assert "no answer in time" not in r.content.decode(), "the customer is not told Temporal's internals"
    assert not IdempotencyRecord.objects.exists()
    retried = cancel(alice, order, key="cancel-1")
    assert retried.status_code == 202
    assert len(sagas.cancelled) == 1


def test_a_replayed_cancel_is_answered_from_the_store_without_asking_again(customer, sagas):
    order = order_create(customer_id="alice", saga_started=True)
    alice = customer("alice")

    first = cancel(alice, order, key="cancel-1")
    again = cancel(alice, order, key="cancel-1")

    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert len(sagas.calls) == 1


def test_a_replayed_refusal_is_the_same_refusal(customer, sagas):
    order = order_create(customer_id="alice", saga_started=True)
    alice = customer("alice")
    sagas.script(cancel=[CancelRefused("pivot_passed")])

    first = cancel(alice, order, key="cancel-1")
    again = cancel(alice, order, key="cancel-1")

    assert first.status_code == 409
    assert again.content == first.content
    assert len(sagas.calls) == 1


def test_idempotency_key_rules_hold(customer, sagas):
    order = order_create(customer_id="alice", saga_started=True)
    alice = customer("alice")
    assert_error(cancel(alice, order, key=""), 400, "idempotency_key_missing")
    assert_error(cancel(alice, order, key="\x01"), 400, "idempotency_key_invalid")
    assert cancel(alice, order, key="k").status_code == 202
    reused = alice.post(f"/api/v1/orders/{order.id}/cancel", {"why": "changed my mind"}, key="k")
    assert_error(reused, 422, "idempotency_key_reused")
    assert len(sagas.calls) == 1


def _claim(order, *, age_seconds: float = 0) -> None:
    """The claim that a first cancel with key "cancel-1" leaves while Temporal has not answered it."""
    record = IdempotencyRecord.objects.create(
        principal="customer:alice",
        scope=f"POST /api/v1/orders/{order.id}/cancel",
        key="cancel-1",
        fingerprint=request_fingerprint(b"{}"),
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        updated_at=timezone.now() - timedelta(seconds=age_seconds)
    )


def test_the_same_key_while_the_first_cancel_is_running_is_409_without_asking(customer, sagas):
    order = order_create(customer_id="alice", saga_started=True)
    _claim(order)

    r = cancel(customer("alice"), order, key="cancel-1")

    assert_error(r, 409, "idempotency_in_flight")
    assert sagas.calls == []


def test_a_claim_abandoned_past_its_lease_is_taken_over(customer, sagas, settings):
    order = order_create(customer_id="alice", saga_started=True)
    _claim(order, age_seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)

    r = cancel(customer("alice"), order, key="cancel-1")

    assert r.status_code == 202
    assert len(sagas.cancelled) == 1
    assert IdempotencyRecord.objects.get().status_code == 202


@pytest.mark.parametrize("body", [{"reason": "customer_cancelled"}, [], None])
def test_a_cancel_takes_no_fields(customer, sagas, body):
    order = order_create(customer_id="alice")
    r = (
        customer("alice").post(f"/api/v1/orders/{order.id}/cancel", body)
        if body is not None
        else (customer("alice").post(f"/api/v1/orders/{order.id}/cancel", raw=b"null"))
    )
    assert_error(r, 400, "validation_error")
    assert sagas.calls == []


def test_another_customers_order_and_an_unknown_order_are_404_alike(customer, sagas):
    order = order_create(customer_id="alice")
    others = cancel(customer("bob"), order)
    missing = customer("bob").post(f"/api/v1/orders/{uuid.uuid4()}/cancel")
    assert_error(others, 404, "order_not_found")
    assert_error(missing, 404, "order_not_found")
    assert others.json()["message"] == missing.json()["message"]
    assert sagas.calls == []


def test_the_saga_and_anonymous_callers_cannot_cancel(saga, anonymous, sagas):
    order = order_create(customer_id="alice")
    assert_error(cancel(saga, order), 403, "permission_denied")
    assert_error(cancel(anonymous, order), 401, "not_authenticated")
    assert sagas.calls == []
    assert not IdempotencyRecord.objects.exists()

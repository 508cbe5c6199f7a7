"""Placing, reading, listing orders, and the saga's confirm/cancel reports (the outbox: test_outbox.py)."""

import uuid

import pytest
from orders import services
from orders.errors import LinesMismatch, OrderFinal
from orders.models import Order, OutboxRecord
from orders.saga_gateway import SagaUnreachable

import saga_contract

pytestmark = pytest.mark.django_db

BODY = {"customer_id": "alice", "items": [{"sku": "MUG", "quantity": 2}, {"sku": "TEA", "quantity": 1}]}
PRICED = [
    {"sku": "MUG", "quantity": 2, "unit_price_cents": 500},
    {"sku": "TEA", "quantity": 1, "unit_price_cents": 250},
]


def place(client, body=BODY, **kwargs):
    return client.post("/api/v1/orders", body, **kwargs)


def test_place_order_stores_pending_with_its_outbox_record_and_the_relay_starts_its_saga(
    customer, sagas, relay_once
):
    alice = customer("alice")
    r = place(alice)
    assert r.status_code == 202
    order = r.json()
    assert order["status"] == "PENDING"
    assert order["cancellation_reason"] is None
    assert order["workflow_id"] == f"order-{order['id']}"
    assert order["items"] == [
        {"sku": "MUG", "quantity": 2, "unit_price_cents": None},
        {"sku": "TEA", "quantity": 1, "unit_price_cents": None},
    ]
    assert order["total_cents"] is None
    assert order["currency"] == "USD"
    assert sagas.calls == [], "placing an order calls no one; the relay starts the saga"
    assert alice.get(f"/api/v1/orders/{order['id']}").json() == order

    relay_once()

    [(workflow_id, start)] = sagas.started
    assert workflow_id == order["workflow_id"]
    assert (start.order_id, start.customer_id, start.currency) == (order["id"], "alice", "USD")
    assert [(item.sku, item.quantity) for item in start.items] == [("MUG", 2), ("TEA", 1)]
    assert start.deadline_seconds > 0


def test_replayed_place_stores_one_order_and_one_outbox_record(customer, sagas, relay_once):
    alice = customer("alice")
    first = place(alice, key="place-1")
    again = place(alice, key="place-1")
    assert again.content == first.content
    assert Order.objects.count() == 1
    assert OutboxRecord.objects.count() == 1
    relay_once()
    assert len(sagas.started) == 1


def test_placing_does_not_need_temporal(customer, sagas):
    sagas.script(start=[SagaUnreachable("temporal unreachable")] * 3)
    r = place(customer("alice"))
    assert r.status_code == 202
    assert Order.objects.count() == 1
    assert sagas.calls == []


def test_list_filters_and_pages_newest_first(customer, operator):
    ids = [place(customer(c), {**BODY, "customer_id": c}).json()["id"] for c in ("alice", "bob", "alice")]
    Order.objects.filter(id=ids[0]).update(status="CONFIRMED")

    everything = operator.get("/api/v1/orders").json()
    assert everything["count"] == 3
    assert [o["id"] for o in everything["results"]] == ids[::-1]
    alice = operator.get("/api/v1/orders", {"customer_id": "alice"}).json()
    assert [o["id"] for o in alice["results"]] == [ids[2], ids[0]]
    confirmed = operator.get("/api/v1/orders", {"customer_id": "alice", "status": "CONFIRMED"}).json()
    assert [o["id"] for o in confirmed["results"]] == [ids[0]]
    page = operator.get("/api/v1/orders", {"page_size": 2, "page": 2}).json()
    assert [o["id"] for o in page["results"]] == [ids[0]]
    assert operator.get("/api/v1/orders", {"status": "LOST"}).json()["code"] == "validation_error"
    assert operator.get("/api/v1/orders", {"page": 9}).status_code == 404


def test_unknown_and_malformed_ids_are_404(operator):
    assert operator.get(f"/api/v1/orders/{uuid.uuid4()}").json()["code"] == "order_not_found"
    assert operator.get("/api/v1/orders/123").json()["code"] == "not_found"


def test_confirm_records_prices_and_is_repeatable(customer, saga):
    order_id = place(customer("alice")).json()["id"]
    body = {"lines": PRICED, "total_cents": 1250, "currency": "USD"}
    for _ in range(2):
        r = saga.post(f"/internal/v1/orders/{order_id}/confirm", body)
        assert r.status_code == 200
    order = r.json()
    assert order["status"] == "CONFIRMED"
    assert order["total_cents"] == 1250
    assert [i["unit_price_cents"] for i in order["items"]] == [500, 250]


def test_cancel_records_reason_and_confirm_after_cancel_is_refused(customer, saga):
    order_id = place(customer("alice")).json()["id"]
    r = saga.post(f"/internal/v1/orders/{order_id}/cancel", {"reason": "out_of_stock"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["cancellation_reason"], r.json()["total_cents"]) == (
        "CANCELLED",
        "out_of_stock",
        None,
    )

    late = saga.post(f"/internal/v1/orders/{order_id}/confirm", {"lines": PRICED, "total_cents": 1250})
    assert late.status_code == 409
    assert late.json()["code"] == "order_final"
    assert Order.objects.get(id=order_id).status == "CANCELLED"


def test_cancel_after_confirm_is_refused(customer):
    order = Order.objects.get(id=place(customer("alice")).json()["id"])
    services.order_confirm(order_id=order.id, lines=PRICED, total_cents=1250, currency="USD")
    with pytest.raises(OrderFinal):
        services.order_cancel(order_id=order.id, reason="timed_out")


def test_cancel_with_prices_keeps_them(customer, saga):
    order_id = place(customer("alice")).json()["id"]
    r = saga.post(
        f"/internal/v1/orders/{order_id}/cancel",
        {"reason": "payment_declined", "lines": PRICED, "total_cents": 1250},
    )
    assert r.json()["total_cents"] == 1250
    assert r.json()["cancellation_reason"] == "payment_declined"


def test_confirm_with_lines_that_do_not_match_is_refused_and_changes_nothing(customer):
    order = Order.objects.get(id=place(customer("alice")).json()["id"])
    with pytest.raises(LinesMismatch):
        services.order_confirm(order_id=order.id, lines=PRICED[:1], total_cents=1000, currency="USD")
    with pytest.raises(LinesMismatch):
        services.order_confirm(order_id=order.id, lines=PRICED, total_cents=1, currency="USD")
    order.refresh_from_db()
    assert order.status == "PENDING"
    assert order.total_cents is None


def test_reports_for_unknown_orders_are_404(saga):
    r = saga.post(f"/internal/v1/orders/{uuid.uuid4()}/cancel", {"reason": "timed_out"})
    assert r.status_code == 404
    assert r.json()["code"] == "order_not_found"


def test_confirm_with_a_repeated_sku_is_refused(customer, saga):
    order_id = place(customer("alice")).json()["id"]
    doubled = [PRICED[0], {**PRICED[0], "unit_price_cents": 1}, PRICED[1]]
    r = saga.post(f"/internal/v1/orders/{order_id}/confirm", {"lines": doubled, "total_cents": 1251})
    assert r.status_code == 422
    assert r.json()["code"] == "sku_repeated"
    assert r.json()["details"] == {"skus": [PRICED[0]["sku"]]}
    assert Order.objects.get(id=order_id).status == "PENDING"


def test_order_states_and_reasons_are_the_contracts():
    """Fails when saga_contract gains a status or a reason that orders cannot store."""
    assert set(Order.Status.values) == set(saga_contract.OrderStatus)
    assert set(Order.CancellationReason.values) == set(saga_contract.CancellationReason)
    assert Order(id=uuid.UUID(int=7)).workflow_id == saga_contract.workflow_id(uuid.UUID(int=7))

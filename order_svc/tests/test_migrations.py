"""Migration 0003 on a database that already holds orders: each gets an outbox record, marked started
(their sagas were started at placement then), whose payload is the workflow's input."""

import uuid

import pytest

from saga_contract import OrderSagaInput

BEFORE = [("orders", "0002_outbox")]
AFTER = [("orders", "0003_outbox_backfill")]


@pytest.mark.django_db(transaction=True)
def test_orders_placed_before_the_outbox_get_a_started_outbox_record(settings, migrations):
    old = migrations(BEFORE)
    order = old.get_model("orders", "Order").objects.create(
        id=uuid.uuid4(), customer_id="ann", status="CONFIRMED"
    )
    line = old.get_model("orders", "OrderLine").objects
    line.create(order=order, sku="MUG", quantity=2)
    line.create(order=order, sku="TEA", quantity=1)

    new = migrations(AFTER)

    record = new.get_model("orders", "OutboxRecord").objects.get()
    assert record.order_id == order.id
    assert record.started_at == order.created_at
    assert record.attempts == 1
    assert OrderSagaInput(**record.payload) == OrderSagaInput(
        order_id=str(order.id),
        customer_id="ann",
        items=[{"sku": "MUG", "quantity": 2}, {"sku": "TEA", "quantity": 1}],
        deadline_seconds=settings.ORDER_SAGA_DEADLINE_SECONDS,
    )

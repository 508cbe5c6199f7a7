"""Test data: orders as order_place stores them (order, lines, outbox record), with a chosen id."""

from __future__ import annotations

import uuid

from django.utils import timezone
from orders.models import Order, OrderLine, OutboxRecord

from saga_contract import OrderItem, OrderSagaInput


def order_create(
    *,
    id: uuid.UUID | None = None,
    customer_id: str = "alice",
    items: tuple[tuple[str, int], ...] = (("MUG", 1),),
    status: str = Order.Status.PENDING,
    saga_started: bool = False,
) -> Order:
    order = Order.objects.create(id=id or uuid.uuid4(), customer_id=customer_id, status=status)
    OrderLine.objects.bulk_create(OrderLine(order=order, sku=sku, quantity=qty) for sku, qty in items)
    saga_input = OrderSagaInput(
        order_id=str(order.id), customer_id=customer_id, items=[OrderItem(sku, qty) for sku, qty in items]
    )
    now = timezone.now()
    OutboxRecord.objects.create(
        order=order,
        payload=saga_input.as_payload(),
        next_attempt_at=now,
        started_at=now if saga_started else None,
        attempts=1 if saga_started else 0,
    )
    return order

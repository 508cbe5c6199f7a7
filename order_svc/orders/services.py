"""State changes of orders: placing one (and starting its saga), confirming and cancelling.

Placing an order stores it and starts its saga in one transaction: if the saga
cannot be started, nothing is stored. Confirm and cancel are the saga's reports
and are safe to repeat.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.db import transaction

from chassis.logging import bind
from orders.errors import LinesMismatch, OrderFinal, OrderNotFound, SagaUnavailable
from orders.models import Order, OrderLine
from orders.saga import SagaStart, SagaStartFailed, saga_starter


def order_place(*, customer_id: str, items: list[tuple[str, int]]) -> Order:
    with transaction.atomic():
        order = Order.objects.create(customer_id=customer_id)
        OrderLine.objects.bulk_create(OrderLine(order=order, sku=sku, quantity=qty) for sku, qty in items)
        bind(order_id=str(order.id), workflow_id=order.workflow_id)
        saga = SagaStart(
            order_id=str(order.id),
            customer_id=customer_id,
            items=[{"sku": sku, "quantity": qty} for sku, qty in items],
            currency=order.currency,
            deadline_seconds=settings.ORDER_SAGA_DEADLINE_SECONDS,
        )
        try:
            saga_starter().start(workflow_id=order.workflow_id, saga=saga)
        except SagaStartFailed as exc:
            raise SagaUnavailable(error=str(exc)) from exc
    return order


def _locked_order(order_id: UUID) -> Order:
    order = Order.objects.select_for_update().filter(id=order_id).first()
    if order is None:
        raise OrderNotFound(order_id=str(order_id))
    return order


def _apply_prices(order: Order, lines: list[dict], total_cents: int, currency: str) -> None:
    items = {line.sku: line for line in order.items.all()}
    if {l["sku"]: l["quantity"] for l in lines} != {sku: line.quantity for sku, line in items.items()}:
        raise LinesMismatch(order_id=str(order.id))
    if total_cents != sum(l["unit_price_cents"] * l["quantity"] for l in lines):
        raise LinesMismatch("total_cents is not the sum of the lines.", order_id=str(order.id))
    for line in lines:
        item = items[line["sku"]]
        item.unit_price_cents = line["unit_price_cents"]
        item.save(update_fields=["unit_price_cents"])
    order.total_cents, order.currency = total_cents, currency


def order_confirm(*, order_id: UUID, lines: list[dict], total_cents: int, currency: str) -> Order:
    with transaction.atomic():
        order = _locked_order(order_id)
        if order.status == Order.Status.CONFIRMED:
            return order
        if order.status == Order.Status.CANCELLED:
            raise OrderFinal(order_id=str(order_id), status=order.status)
        _apply_prices(order, lines, total_cents, currency)
        order.status = Order.Status.CONFIRMED
        order.save(update_fields=["status", "total_cents", "currency", "updated_at"])
        return order


def order_cancel(
    *, order_id: UUID, reason: str, lines: list[dict] | None = None,
    total_cents: int | None = None, currency: str | None = None,
) -> Order:
    with transaction.atomic():
        order = _locked_order(order_id)
        if order.status == Order.Status.CANCELLED:
            return order
        if order.status == Order.Status.CONFIRMED:
            raise OrderFinal(order_id=str(order_id), status=order.status)
        if lines:
            _apply_prices(order, lines, total_cents, currency or order.currency)
        order.status = Order.Status.CANCELLED
        order.cancellation_reason = reason
        order.save(update_fields=["status", "cancellation_reason", "total_cents", "currency", "updated_at"])
        return order

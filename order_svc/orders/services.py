"""State changes of orders: placing one (with its saga's outbox record), asking its saga to
cancel, and the saga's own reports (confirmed, cancelled), which are safe to repeat.

Placing an order stores the order, its lines and its outbox record in one short transaction and
calls nothing else: the relay (orders.relay) starts the saga once that has committed. The only
service that talks to Temporal, `order_request_cancel`, does so with no transaction open.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from observability.logs import bind
from observability.tracing import carrier
from orders import selectors
from orders.errors import LinesMismatch, OrderFinal, OrderNotCancellable, OrderNotFound, SagaUnavailable
from orders.models import Order, OrderLine, OutboxRecord
from orders.saga import CancelRefused, SagaUnreachable, saga_gateway
from saga_contract import CancelRefusal, OrderItem, OrderSagaInput

logger = logging.getLogger(__name__)


def order_place(*, customer_id: str, items: list[tuple[str, int]]) -> Order:
    """Store a PENDING order with its lines and the outbox record its saga is started from."""
    with transaction.atomic():
        order = Order.objects.create(customer_id=customer_id)
        OrderLine.objects.bulk_create(OrderLine(order=order, sku=sku, quantity=qty) for sku, qty in items)
        saga_input = OrderSagaInput(
            order_id=str(order.id),
            customer_id=customer_id,
            items=[OrderItem(sku=sku, quantity=qty) for sku, qty in items],
            currency=order.currency,
            deadline_seconds=settings.ORDER_SAGA_DEADLINE_SECONDS,
            placed_at=order.created_at.isoformat(),
        )
        OutboxRecord.objects.create(
            order=order,
            payload=saga_input.as_payload(),
            next_attempt_at=timezone.now(),
            trace_context=carrier(),
        )
    bind(order_id=str(order.id), workflow_id=order.workflow_id)
    return order


def order_request_cancel(*, order_id: UUID, owner: str | None = None) -> Order:
    """Ask the order's saga to cancel (the cancel Update) and answer with the order as it now is.

    A final order is refused without asking. A saga the relay has not started yet is started by the
    same call and cancelled at once. Raises OrderNotFound (also for another customer's order),
    OrderNotCancellable with the saga's reason, or SagaUnavailable. Holds no transaction.
    """
    order = selectors.order_get(order_id=order_id, owner=owner)
    bind(order_id=str(order.id), workflow_id=order.workflow_id)
    if order.is_final:
        raise OrderNotCancellable(order_id=str(order.id), reason=CancelRefusal.FINAL)
    saga_input = OrderSagaInput(**order.outbox.payload)
    try:
        saga_gateway().cancel(workflow_id=order.workflow_id, saga_input=saga_input)
    except CancelRefused as refused:
        raise OrderNotCancellable(order_id=str(order.id), reason=refused.reason) from None
    except SagaUnreachable as error:
        logger.warning("cancel: saga unreachable", extra={"fields": {"error": str(error)}})
        raise SagaUnavailable(order_id=str(order.id)) from None
    logger.info("cancel accepted by the saga")
    return selectors.order_get(order_id=order.id)


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

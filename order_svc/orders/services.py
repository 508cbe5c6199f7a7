"""State changes of orders: placing one (with its saga's outbox record), asking its saga to
cancel, and the saga's own reports (confirmed, cancelled), which are safe to repeat.

Placing an order stores the order, its lines and its outbox record in one short transaction and
calls nothing else: the relay (orders.relay) starts the saga once that has committed. The only
service that talks to Temporal, `order_request_cancel`, does so with no transaction open.
"""

from __future__ import annotations

import logging
from typing import TypedDict
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chassis.events.services import event_record
from chassis.idempotency.effects import effect_transaction, remember_related
from chassis.wakeups import wake_after_commit
from observability.logs import bind
from observability.tracing import carrier
from orders import selectors
from orders.errors import LinesMismatch, OrderFinal, OrderNotCancellable, OrderNotFound, SagaUnavailable
from orders.models import OUTBOX_CHANNEL, Order, OrderLine, OutboxRecord
from orders.saga_gateway import CancelRefused, SagaUnreachable, saga_gateway
from saga_contract import CancelRefusal, OrderItem, OrderSagaInput
from saga_contract.events import EventType

logger = logging.getLogger(__name__)


class PricedLine(TypedDict):
    """One line of the saga's report: what the order holds of a SKU, at the price it was reserved at."""

    sku: str
    quantity: int
    unit_price_cents: int


def order_place(*, customer_id: str, items: list[tuple[str, int]]) -> Order:
    """Store a PENDING order with its lines and the outbox record its saga is started from."""
    with effect_transaction():
        order = Order.objects.create(customer_id=customer_id)
        lines = OrderLine.objects.bulk_create(
            OrderLine(order=order, sku=sku, quantity=qty) for sku, qty in items
        )
        remember_related(order, "items", lines)
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
        wake_after_commit(OUTBOX_CHANNEL)
        event_record(
            EventType.ORDER_PLACED,
            key=str(order.id),
            data={
                "order_id": str(order.id),
                "customer_id": customer_id,
                "items": [{"sku": sku, "quantity": qty} for sku, qty in items],
                "currency": order.currency,
            },
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
    with transaction.atomic():
        # The first accepted request is the change; a repeat is not.
        if Order.objects.filter(id=order.id, cancel_requested_at__isnull=True).update(
            cancel_requested_at=timezone.now()
        ):
            event_record(
                EventType.ORDER_CANCEL_REQUESTED,
                key=str(order.id),
                data={"order_id": str(order.id), "customer_id": order.customer_id},
            )
    return selectors.order_get(order_id=order.id)


def _order_with_items(order_id: UUID) -> Order:
    """The order with its lines, read in one statement (two for an order without lines)."""
    items = list(OrderLine.objects.filter(order_id=order_id).select_related("order"))
    order = items[0].order if items else Order.objects.filter(id=order_id).first()
    if order is None:
        raise OrderNotFound(order_id=str(order_id))
    remember_related(order, "items", items)
    return order


def _priced(order: Order, lines: list[PricedLine], total_cents: int | None) -> list[OrderLine]:
    """The order's lines with the unit prices the saga reports, once they are checked against the order
    (a missing total matches no sum)."""
    items = {line.sku: line for line in order.items.all()}
    if {row["sku"]: row["quantity"] for row in lines} != {sku: line.quantity for sku, line in items.items()}:
        raise LinesMismatch(order_id=str(order.id))
    if total_cents != sum(row["unit_price_cents"] * row["quantity"] for row in lines):
        raise LinesMismatch("total_cents is not the sum of the lines.", order_id=str(order.id))
    for line in lines:
        items[line["sku"]].unit_price_cents = line["unit_price_cents"]
    return list(items.values())


def _order_finish(order: Order, *, to: str, priced: list[OrderLine], **fields: object) -> Order:
    """Move a PENDING order to `to` with `fields`, storing the `priced` lines' unit prices in one
    UPDATE. A repeat returns the order as it is; the other final state is refused."""
    if order.status == Order.Status.PENDING:
        changes = {"status": to, "updated_at": timezone.now(), **fields}
        if Order.objects.filter(id=order.id, status=Order.Status.PENDING).update(**changes):
            if priced:
                OrderLine.objects.bulk_update(priced, ["unit_price_cents"])
            for name, value in changes.items():
                setattr(order, name, value)
            _record_final(order)
            return order
        # The saga's other report was stored after the order was read: final states never change.
        order = _order_with_items(order.id)
    if order.status == to:
        return order
    raise OrderFinal(order_id=str(order.id), status=order.status)


def _record_final(order: Order) -> None:
    """The event of an order that has just become final, in the transaction that made it so."""
    lines = [
        {"sku": line.sku, "quantity": line.quantity, "unit_price_cents": line.unit_price_cents}
        for line in order.items.all()
    ]
    common = {"order_id": str(order.id), "customer_id": order.customer_id, "currency": order.currency}
    if order.status == Order.Status.CONFIRMED:
        data = {**common, "lines": lines, "total_cents": order.total_cents}
        event_record(EventType.ORDER_CONFIRMED, key=str(order.id), data=data)
    else:
        data = {**common, "reason": order.cancellation_reason, "total_cents": order.total_cents}
        event_record(EventType.ORDER_CANCELLED, key=str(order.id), data=data)


def order_confirm(*, order_id: UUID, lines: list[PricedLine], total_cents: int, currency: str) -> Order:
    with effect_transaction():
        order = _order_with_items(order_id)
        priced = _priced(order, lines, total_cents) if order.status == Order.Status.PENDING else []
        return _order_finish(
            order, to=Order.Status.CONFIRMED, priced=priced, total_cents=total_cents, currency=currency
        )


def order_cancel(
    *,
    order_id: UUID,
    reason: str,
    lines: list[PricedLine] | None = None,
    total_cents: int | None = None,
    currency: str | None = None,
) -> Order:
    with effect_transaction():
        order = _order_with_items(order_id)
        fields: dict[str, object] = {"cancellation_reason": reason}
        priced: list[OrderLine] = []
        if lines and order.status == Order.Status.PENDING:
            priced = _priced(order, lines, total_cents)
            fields |= {"total_cents": total_cents, "currency": currency or order.currency}
        return _order_finish(order, to=Order.Status.CANCELLED, priced=priced, **fields)

"""Reads of orders, of their sagas as the workflows see them, and of the saga's operations for
operators (the workers' circuit breakers, the last scheduled audit). Nothing here changes state."""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet

from orders.errors import OrderNotFound, SagaUnavailable
from orders.models import Order
from orders.saga_gateway import (
    AuditRunReport,
    SagaNotStarted,
    SagaProgress,
    SagaUnreachable,
    saga_gateway,
    saga_progress_not_started,
)
from orders.worker_metrics import BreakerState, breaker_states

logger = logging.getLogger(__name__)


def order_get(*, order_id: UUID, owner: str | None = None) -> Order:
    """The order; with `owner` (a customer reading), only if it is that customer's: another
    customer's order is not found, not forbidden, so its existence is not confirmed."""
    orders = Order.objects.prefetch_related("items")
    if owner is not None:
        orders = orders.filter(customer_id=owner)
    try:
        return orders.get(id=order_id)
    except Order.DoesNotExist:
        raise OrderNotFound(order_id=str(order_id)) from None


def order_list(
    *, customer_id: str | None = None, status: str | None = None, owner: str | None = None
) -> QuerySet[Order]:
    """Orders, newest first; with `owner`, that customer's only, whatever the filters ask."""
    orders = Order.objects.prefetch_related("items")
    if owner is not None:
        orders = orders.filter(customer_id=owner)
    if customer_id:
        orders = orders.filter(customer_id=customer_id)
    if status:
        orders = orders.filter(status=status)
    return orders


def order_saga_progress(*, order_id: UUID, owner: str | None = None) -> tuple[Order, SagaProgress]:
    """The order and its saga's progress from Temporal: every step pending (NOT_STARTED) while the
    relay has not started it. Raises OrderNotFound (`owner` as in order_get) or SagaUnavailable."""
    order = order_get(order_id=order_id, owner=owner)
    try:
        return order, saga_gateway().progress(workflow_id=order.workflow_id)
    except SagaNotStarted:
        return order, saga_progress_not_started()
    except SagaUnreachable as error:
        logger.warning(
            "saga progress: saga unreachable",
            extra={
                "fields": {"order_id": str(order.id), "workflow_id": order.workflow_id, "error": str(error)}
            },
        )
        raise SagaUnavailable(order_id=str(order.id)) from None


def breaker_list() -> dict[str, BreakerState]:
    """Each of the saga's circuit breakers, by service, as the workers at
    settings.ORDER_WORKER_METRICS_URLS report them (unknown where none does)."""
    return breaker_states(
        urls=settings.ORDER_WORKER_METRICS_URLS, timeout_seconds=settings.ORDER_WORKER_METRICS_TIMEOUT_SECONDS
    )


def audit_latest() -> AuditRunReport | None:
    """The scheduled audit's newest closed run, or None while none has closed. Raises SagaUnavailable
    when Temporal does not answer."""
    try:
        return saga_gateway().latest_audit()
    except SagaUnreachable as error:
        logger.warning("last audit: Temporal unreachable", extra={"fields": {"error": str(error)}})
        raise SagaUnavailable(
            "Temporal cannot be reached right now, so the last audit cannot be read; retry shortly."
        ) from None

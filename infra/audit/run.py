"""One audit: read a snapshot of the system, check the invariants against it, report."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from infra.audit.invariants import (
    check_events,
    check_exactly_once,
    check_liveness,
    check_money,
    check_notifications,
    check_stock,
)
from infra.audit.report import AuditReport
from infra.audit.snapshot import FINAL, Snapshot, order_if_stored, orphan_workflows, read_workflows
from infra.rest import RestClient, all_pages
from saga_contract import DEFAULT_DEADLINE_SECONDS


def run_audit(
    *,
    order_url: str,
    payment_url: str,
    inventory_url: str,
    temporal_address: str,
    token: str,
    namespace: str = "default",
    deadline_seconds: int = DEFAULT_DEADLINE_SECONDS,
    notification_url: str | None = None,
) -> AuditReport:
    """Read the services (as the operator holding `token`) and Temporal, check every invariant, and report.
    With `notification_url`, notification_svc too: every final order's notification is checked.

    The reads are not one atomic snapshot: audit a quiet system (no saga moving), or audit again when
    something looks wrong. ServiceCallError (or its TemporalUnavailable) when something cannot be read.
    """
    audited_at = datetime.now(UTC)
    with (
        RestClient("order_svc", order_url, token=token) as orders_api,
        RestClient("payment_svc", payment_url, token=token) as payment_api,
        RestClient("inventory_svc", inventory_url, token=token) as inventory_api,
    ):
        # Orders first, then their workflows, then the effects: an order that is final when read has
        # made all its effects already, so the later reads cannot catch it half-way.
        orders = {order["id"]: order for order in all_pages(orders_api, "/api/v1/orders")}
        workflows, listed = asyncio.run(read_workflows(temporal_address, namespace, list(orders)))
        read_workflows_at = datetime.now(UTC)
        for order_id, workflow in workflows.items():
            if workflow and workflow.status == "COMPLETED" and orders[order_id]["status"] not in FINAL:
                orders[order_id] = (
                    order_if_stored(orders_api, order_id) or orders[order_id]
                )  # it finished meanwhile
        snapshot = Snapshot(
            orders=orders,
            workflows=workflows,
            orphan_workflows=orphan_workflows(orders_api, listed, orders),
            accounts=all_pages(payment_api, "/api/v1/accounts"),
            merchant_cents=payment_api.check(payment_api.get("/api/v1/merchant"))["balance_cents"],
            payments=all_pages(payment_api, "/api/v1/payments"),
            payment_events=all_pages(payment_api, "/api/v1/payment-events"),
            products=all_pages(inventory_api, "/api/v1/products"),
            reservations=all_pages(inventory_api, "/api/v1/reservations"),
            reservation_events=all_pages(inventory_api, "/api/v1/reservation-events"),
            read_workflows_at=read_workflows_at,
            events={
                api.service: all_pages(api, "/api/v1/events")
                for api in (orders_api, payment_api, inventory_api)
            },
            read_at=audited_at,
        )
        if notification_url is not None:
            with RestClient("notification_svc", notification_url, token=token) as notification_api:
                snapshot.notifications = all_pages(notification_api, "/api/v1/notifications")
    return AuditReport(
        results=[
            check_money(snapshot),
            check_stock(snapshot),
            check_liveness(snapshot, deadline_seconds=deadline_seconds),
            check_exactly_once(snapshot),
            check_events(snapshot),
            *([check_notifications(snapshot)] if snapshot.notifications is not None else []),
        ],
        audited_at=audited_at.isoformat(timespec="seconds"),
        seen={
            "orders": len(snapshot.orders),
            "workflows": sum(workflow is not None for workflow in workflows.values()),
            "accounts": len(snapshot.accounts),
            "payments": len(snapshot.payments),
            "payment_events": len(snapshot.payment_events),
            "products": len(snapshot.products),
            "reservations": len(snapshot.reservations),
            "reservation_events": len(snapshot.reservation_events),
            "events": sum(len(events) for events in snapshot.events.values()),
            **({"notifications": len(snapshot.notifications)} if snapshot.notifications is not None else {}),
        },
    )

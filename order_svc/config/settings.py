"""Settings of order_svc: the chassis defaults plus this service's own app, its saga and its outbox."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

import saga_contract
from chassis.settings import service_settings

_env = os.environ

globals().update(
    service_settings(
        name="order",
        base_dir=Path(__file__).resolve().parent.parent,
        # The order's cancellation reason and the saga's report of it are one enumeration in the schema.
        enum_names={
            "CancellationReason": "orders.models.Order.CancellationReason",
            "StepState": "saga_contract.StepState",
        },
        apps=["orders"],
        description="Orders: a customer places its orders, follows their saga and may ask to cancel them; "
        "operators see every order; the saga reads its order and reports it confirmed or cancelled "
        "(`/internal/v1/`, for the saga's identity only).",
    )
)
# The saga every order gets: started by the outbox relay (`manage.py relay_outbox`), asked to cancel
# and read by the API, always through orders.saga_gateway.
TEMPORAL_ADDRESS = _env.get("TEMPORAL_ADDRESS", saga_contract.DEFAULT_TEMPORAL_ADDRESS)
TEMPORAL_NAMESPACE = _env.get("TEMPORAL_NAMESPACE", saga_contract.NAMESPACE)
TEMPORAL_TASK_QUEUE = _env.get("TEMPORAL_TASK_QUEUE", saga_contract.TASK_QUEUE)
TEMPORAL_RPC_TIMEOUT_SECONDS = float(_env.get("TEMPORAL_RPC_TIMEOUT_SECONDS", "5"))
"""Deadline of a start, a describe, a query or a history fetch."""
ORDER_CANCEL_TIMEOUT_SECONDS = float(_env.get("ORDER_CANCEL_TIMEOUT_SECONDS", "10"))
"""Deadline of a customer's cancel: the Update (with its start) until the workflow answers; then 503."""
ORDER_SAGA_DEADLINE_SECONDS = int(
    _env.get("ORDER_SAGA_DEADLINE_SECONDS", str(saga_contract.DEFAULT_DEADLINE_SECONDS))
)
ORDER_SAGA_GATEWAY = "orders.saga_gateway.temporal.TemporalSagaGateway"
ORDER_OPERATOR_ORDERS = _env.get("DJANGO_ENV", "development") != "production"
"""Operators may place an order for a customer they name (the console's demo load generator) outside
production only: in production an order spends a customer's money on the customer's word alone."""


def _worker_metrics_urls(text: str) -> list[str]:
    urls = [url.strip() for url in text.split(",") if url.strip()]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ImproperlyConfigured(f"ORDER_WORKER_METRICS_URLS must list http(s) URLs, not {url!r}")
    return urls


# Where the operators' view of the breakers (GET /api/v1/operations/breakers) reads them: the
# Prometheus endpoint of every orchestrator worker, comma-separated (each worker's
# WORKER_METRICS_ADDRESS), each asked within ORDER_WORKER_METRICS_TIMEOUT_SECONDS.
ORDER_WORKER_METRICS_URLS = _worker_metrics_urls(
    _env.get("ORDER_WORKER_METRICS_URLS", "http://127.0.0.1:9464/metrics")
)
ORDER_WORKER_METRICS_TIMEOUT_SECONDS = 1.0

# /metrics also reports the outbox and the orders still pending (chassis.telemetry).
METRICS_COLLECTORS = ["orders.metrics.OrderSagaCollector"]

# The outbox relay.
OUTBOX_POLL_SECONDS = float(_env.get("OUTBOX_POLL_SECONDS", "1"))
"""How often an idle relay looks for due records when nothing wakes it: a placement wakes it at once
(chassis.wakeups), so this bounds the wait of a retry that falls due and of a lost wake-up."""
OUTBOX_RELAY_CONCURRENCY = int(_env.get("OUTBOX_RELAY_CONCURRENCY", "8"))
"""Starts in flight at once, per relay: also how many records it claims at a time."""
OUTBOX_LEASE_SECONDS = float(_env.get("OUTBOX_LEASE_SECONDS", "15"))
"""How long a claimed record is left to its relay before another may take it (a relay that died).
A claim's starts run at once, each within TEMPORAL_RPC_TIMEOUT_SECONDS, so the lease must outlast one."""
OUTBOX_RETRY_FIRST_SECONDS = float(_env.get("OUTBOX_RETRY_FIRST_SECONDS", "0.5"))
OUTBOX_RETRY_MAX_SECONDS = float(_env.get("OUTBOX_RETRY_MAX_SECONDS", "30"))

if OUTBOX_RELAY_CONCURRENCY < 1:
    raise ImproperlyConfigured("OUTBOX_RELAY_CONCURRENCY must be at least 1")
if OUTBOX_LEASE_SECONDS <= TEMPORAL_RPC_TIMEOUT_SECONDS + 1:
    raise ImproperlyConfigured(
        "OUTBOX_LEASE_SECONDS must outlast a start (TEMPORAL_RPC_TIMEOUT_SECONDS + 1 s), or a second relay "
        "would take records the first is still starting"
    )

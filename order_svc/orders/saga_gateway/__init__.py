"""How order_svc reaches its orders' sagas: start one, ask it to cancel, read its progress; and, for
operators, the last run of the scheduled audit.

This package is the port: the errors a caller handles, what a start needs, the gateway's interface and
the one gateway of the process (settings.ORDER_SAGA_GATEWAY). `temporal` implements it over a Temporal
client, `progress` reads a saga's steps and `audit` an audit run's outcome; tests put a fake in its
place. Nothing here touches the database, and no caller may hold a transaction open while it waits
for an answer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from opentelemetry import context as otel_context

from orders.saga_gateway.audit import AuditRunReport
from orders.saga_gateway.progress import (
    NOT_STARTED,
    SagaProgress,
    StepReport,
    saga_progress_from,
    saga_progress_not_started,
)
from saga_contract import OrderSagaInput

__all__ = [
    "NOT_STARTED",
    "AuditRunReport",
    "CancelRefused",
    "SagaGateway",
    "SagaNotStarted",
    "SagaProgress",
    "SagaStart",
    "SagaUnreachable",
    "StepReport",
    "saga_gateway",
    "saga_gateway_close",
    "saga_progress_from",
    "saga_progress_not_started",
]


class SagaUnreachable(Exception):
    """Temporal did not answer in time: the server is down or slow, or no worker took the call."""


class SagaNotStarted(Exception):
    """Temporal knows no workflow by this id yet."""


class CancelRefused(Exception):
    """The saga refused to cancel; `reason` is a CancelRefusal value (or whatever the workflow said)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class SagaStart:
    """One saga for `start_all` to start, and the trace context its start runs in (the relay's span of
    the order, so that the workflow joins the order's trace)."""

    workflow_id: str
    saga_input: OrderSagaInput
    context: otel_context.Context | None = None


class SagaGateway(Protocol):
    """What order_svc asks of its sagas; TemporalSagaGateway answers it over Temporal."""

    def connect(self) -> None: ...

    def start_all(self, starts: Sequence[SagaStart]) -> list[bool | SagaUnreachable]: ...

    def cancel(self, *, workflow_id: str, saga_input: OrderSagaInput) -> None: ...

    def progress(self, *, workflow_id: str) -> SagaProgress: ...

    def latest_audit(self) -> AuditRunReport | None: ...

    def close(self) -> None: ...


_gateway_lock = threading.Lock()
_gateways: dict[str, SagaGateway] = {}


def saga_gateway(*, one_caller: bool = False) -> SagaGateway:
    """The process-wide gateway named by settings.ORDER_SAGA_GATEWAY (tests put a fake there).
    `one_caller`, on the first call of a process: one thread makes every call (the relay)."""
    with _gateway_lock:
        path = settings.ORDER_SAGA_GATEWAY
        if path not in _gateways:
            _gateways[path] = import_string(path)(one_caller=one_caller)
        return _gateways[path]


def saga_gateway_close() -> None:
    """Close and forget the process's gateway: before a command exits, and between tests."""
    with _gateway_lock:
        gateways = list(_gateways.values())
        _gateways.clear()
    for gateway in gateways:
        gateway.close()

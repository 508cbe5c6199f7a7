"""Starts an order's saga on Temporal. The only place order_svc talks to Temporal.

The workflow is started by name with a plain JSON argument, so this service
imports nothing from the orchestrator. Django runs synchronous request threads;
one background event loop per process holds the Temporal client.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import asdict, dataclass
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class SagaStart:
    """The workflow's input, as OrderSaga expects it."""

    order_id: str
    customer_id: str
    items: list[dict]
    currency: str
    deadline_seconds: int


class SagaStartFailed(Exception):
    pass


class TemporalSagaStarter:
    """Starts workflow `OrderSaga` with id `order-<id>`; starting one twice is a no-op."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = None
        self._lock = threading.Lock()

    def start(self, *, workflow_id: str, saga: SagaStart) -> None:
        future = asyncio.run_coroutine_threadsafe(self._start(workflow_id, saga), self._event_loop())
        try:
            future.result(timeout=START_TIMEOUT_SECONDS)
        except Exception as exc:
            future.cancel()
            raise SagaStartFailed(str(exc) or type(exc).__name__) from exc

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="temporal-client", daemon=True).start()
            return self._loop

    async def _start(self, workflow_id: str, saga: SagaStart) -> None:
        from temporalio.client import Client
        from temporalio.exceptions import WorkflowAlreadyStartedError

        if self._client is None:
            self._client = await Client.connect(settings.TEMPORAL_ADDRESS, namespace=settings.TEMPORAL_NAMESPACE)
        try:
            await self._client.start_workflow(
                "OrderSaga", asdict(saga), id=workflow_id, task_queue=settings.TEMPORAL_TASK_QUEUE
            )
        except WorkflowAlreadyStartedError:
            logger.info("saga already started", extra={"fields": {"workflow_id": workflow_id}})


@cache
def saga_starter():
    """The process-wide starter named by settings.ORDER_SAGA_STARTER."""
    return import_string(settings.ORDER_SAGA_STARTER)()

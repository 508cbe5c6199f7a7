"""Recording an integration event: in the caller's transaction, so it exists if and only if the
change it reports committed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.utils import timezone

from chassis.events.models import OutboxEvent
from chassis.wakeups import wake_after_commit
from observability.tracing import carrier
from saga_contract.events import EVENT_VERSION, EventType

EVENTS_CHANNEL = "integration_events"
"""What a recorded event wakes the service's publisher on (chassis.wakeups)."""


class NoTransaction(RuntimeError):
    """An event recorded outside a transaction could commit without its change, or the reverse."""


def event_record(event_type: EventType, *, key: str, data: Mapping[str, Any]) -> OutboxEvent:
    """Record `event_type` about `key` with `data` (its saga_contract.events shape) in the current
    transaction, and wake the publisher once it commits. One INSERT (and a NOTIFY on PostgreSQL)."""
    if not connection.in_atomic_block:
        raise NoTransaction(f"record {event_type} inside the transaction of the change it reports")
    event = OutboxEvent.objects.create(
        event_id=uuid.uuid4(),
        type=event_type,
        version=EVENT_VERSION,
        key=key,
        occurred_at=timezone.now(),
        data=dict(data),
        trace_context=carrier(),
    )
    wake_after_commit(EVENTS_CHANNEL)
    return event

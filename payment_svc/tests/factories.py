"""Test data: identity_svc's registrations as its publisher sends them."""

from __future__ import annotations

import uuid

from saga_contract.events import EVENT_VERSION, SOURCES, Envelope, EventType


def registered(
    *, customer_id: str = "carol", email: str = "carol@example.com", event_id: uuid.UUID | None = None
) -> Envelope:
    return {
        "id": str(event_id or uuid.uuid4()),
        "type": EventType.CUSTOMER_REGISTERED,
        "version": EVENT_VERSION,
        "key": customer_id,
        "source": SOURCES[EventType.CUSTOMER_REGISTERED],
        "occurred_at": "2026-12-02T13:58:40.512000+00:00",
        "data": {"customer_id": customer_id, "email": email},
    }

"""The RabbitMQ the tests use where one runs on 127.0.0.1:5672 (CI has one): every stack a test
starts sends its events there, in a virtual host of its own; elsewhere, the embedded transport."""

from __future__ import annotations

import os

from infra.broker import broker_reachable

RABBITMQ_URL = os.environ.get("SAGA_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
RABBITMQ = broker_reachable(RABBITMQ_URL)
NO_RABBITMQ = f"no RabbitMQ answers at {RABBITMQ_URL}"


def rabbitmq_url() -> str | None:
    """The broker for a test's stack: RabbitMQ when it answers, else None (the embedded transport)."""
    return RABBITMQ_URL if RABBITMQ else None

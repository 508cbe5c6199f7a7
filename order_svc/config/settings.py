"""Settings of order_svc: the chassis defaults plus this service's own app."""

import os
from pathlib import Path

from chassis.settings import service_settings

_env = os.environ

globals().update(service_settings(name="order", base_dir=Path(__file__).resolve().parent.parent, apps=["orders"]))

# The saga this service starts for every order.
TEMPORAL_ADDRESS = _env.get("TEMPORAL_ADDRESS", "127.0.0.1:7233")
TEMPORAL_NAMESPACE = _env.get("TEMPORAL_NAMESPACE", "default")
TEMPORAL_TASK_QUEUE = _env.get("TEMPORAL_TASK_QUEUE", "orders")
ORDER_SAGA_DEADLINE_SECONDS = int(_env.get("ORDER_SAGA_DEADLINE_SECONDS", "300"))
ORDER_SAGA_STARTER = "orders.saga.TemporalSagaStarter"

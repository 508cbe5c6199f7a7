"""Settings of the orchestrator worker, read from the environment in this one place.

Nothing else in the package reads os.environ; defaults fit the local stack (Temporal dev server and
the three services on 127.0.0.1).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.breakers import BreakerSettings


@dataclass(frozen=True)
class OrchestratorSettings:
    temporal_address: str
    temporal_namespace: str
    task_queue: str
    order_svc_url: str
    payment_svc_url: str
    inventory_svc_url: str
    breakers: BreakerSettings


def load_settings(environ: Mapping[str, str] = os.environ) -> OrchestratorSettings:
    return OrchestratorSettings(
        temporal_address=environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        temporal_namespace=environ.get("TEMPORAL_NAMESPACE", "default"),
        task_queue=environ.get("TEMPORAL_TASK_QUEUE", "orders"),
        order_svc_url=environ.get("ORDER_SVC_URL", "http://127.0.0.1:8001"),
        payment_svc_url=environ.get("PAYMENT_SVC_URL", "http://127.0.0.1:8002"),
        inventory_svc_url=environ.get("INVENTORY_SVC_URL", "http://127.0.0.1:8003"),
        breakers=BreakerSettings(
            fail_max=int(environ.get("BREAKER_FAIL_MAX", "5")),
            reset_seconds=float(environ.get("BREAKER_RESET_SECONDS", "10")),
            redis_url=environ.get("BREAKER_REDIS_URL") or None,
        ),
    )

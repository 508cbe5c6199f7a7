"""The orchestrator's settings: defaults for the local stack, every value overridable."""

from orchestrator.breakers import BreakerSettings
from orchestrator.config import OrchestratorSettings, load_settings


def test_defaults_fit_the_local_stack() -> None:
    assert load_settings({}) == OrchestratorSettings(
        temporal_address="127.0.0.1:7233",
        temporal_namespace="default",
        task_queue="orders",
        order_svc_url="http://127.0.0.1:8001",
        payment_svc_url="http://127.0.0.1:8002",
        inventory_svc_url="http://127.0.0.1:8003",
        breakers=BreakerSettings(fail_max=5, reset_seconds=10.0, redis_url=None),
    )


def test_environment_overrides_every_value() -> None:
    environ = {
        "TEMPORAL_ADDRESS": "temporal:7233",
        "TEMPORAL_NAMESPACE": "shop",
        "TEMPORAL_TASK_QUEUE": "orders-eu",
        "ORDER_SVC_URL": "http://orders",
        "PAYMENT_SVC_URL": "http://payments",
        "INVENTORY_SVC_URL": "http://inventory",
        "BREAKER_FAIL_MAX": "3",
        "BREAKER_RESET_SECONDS": "2.5",
        "BREAKER_REDIS_URL": "redis://cache:6379/1",
    }

    assert load_settings(environ) == OrchestratorSettings(
        "temporal:7233", "shop", "orders-eu", "http://orders", "http://payments", "http://inventory",
        BreakerSettings(3, 2.5, "redis://cache:6379/1"),
    )

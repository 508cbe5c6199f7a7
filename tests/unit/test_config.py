"""The orchestrator's settings: defaults for the local stack, every value overridable."""

from pathlib import Path

import pytest

from chassis.tokens import DEV_AUDIENCE, DEV_ISSUER
from observability.tracing import TracingSettings
from orchestrator.breakers import BreakerSettings
from orchestrator.config import IdentitySettings, OrchestratorSettings, load_settings

REPO_VAR_DIR = Path(__file__).resolve().parents[2] / "var"


def test_defaults_fit_the_local_stack() -> None:
    assert load_settings({}) == OrchestratorSettings(
        temporal_address="127.0.0.1:7233",
        temporal_namespace="default",
        task_queue="orders",
        order_svc_url="http://127.0.0.1:8001",
        payment_svc_url="http://127.0.0.1:8002",
        inventory_svc_url="http://127.0.0.1:8003",
        breakers=BreakerSettings(fail_max=5, reset_seconds=10.0, redis_url=None),
        identity=IdentitySettings(
            token_url=None,
            client_id=None,
            client_secret=None,
            scope=None,
            local_key_dir=REPO_VAR_DIR / "keys",
            issuer=DEV_ISSUER,
            audience=DEV_AUDIENCE,
        ),
        metrics_address="127.0.0.1:9464",
        tracing=TracingSettings(REPO_VAR_DIR / "traces"),
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
        "SAGA_TOKEN_URL": "https://idp/realms/shop/protocol/openid-connect/token",
        "SAGA_CLIENT_ID": "saga-worker",
        "SAGA_CLIENT_SECRET": "s3cret",
        "SAGA_TOKEN_SCOPE": "saga",
        "SAGA_VAR_DIR": "/srv/saga/var",
        "JWT_ISSUER": "https://idp/realms/shop",
        "JWT_AUDIENCE": "shop-services",
        "WORKER_METRICS_ADDRESS": "0.0.0.0:9100",
    }

    assert load_settings(environ) == OrchestratorSettings(
        "temporal:7233",
        "shop",
        "orders-eu",
        "http://orders",
        "http://payments",
        "http://inventory",
        BreakerSettings(3, 2.5, "redis://cache:6379/1"),
        IdentitySettings(
            "https://idp/realms/shop/protocol/openid-connect/token",
            "saga-worker",
            "s3cret",
            "saga",
            Path("/srv/saga/var/keys"),
            "https://idp/realms/shop",
            "shop-services",
        ),
        "0.0.0.0:9100",
        TracingSettings(Path("/srv/saga/var/traces")),
    )
    assert load_settings({"SAGA_TRACES_DIR": "/spans"}).tracing.traces_dir == Path("/spans")
    assert load_settings({"WORKER_METRICS_ADDRESS": ""}).metrics_address is None  # no metrics endpoint


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"SAGA_CLIENT_ID": "saga-worker"},
        {"SAGA_CLIENT_SECRET": "s3cret"},
        {"SAGA_CLIENT_ID": "", "SAGA_CLIENT_SECRET": ""},
    ],
)
def test_a_token_url_without_client_credentials_fails_at_start(credentials: dict[str, str]) -> None:
    """A production worker that names its identity provider but not its client must not start and
    quietly fall back to signing its own tokens."""
    with pytest.raises(ValueError, match="SAGA_CLIENT_ID and SAGA_CLIENT_SECRET"):
        load_settings({"SAGA_TOKEN_URL": "https://idp/token", **credentials})


def test_a_token_url_must_be_https_unless_on_this_machine() -> None:
    credentials = {"SAGA_CLIENT_ID": "saga-worker", "SAGA_CLIENT_SECRET": "s3cret"}
    with pytest.raises(ValueError, match="https"):
        load_settings({"SAGA_TOKEN_URL": "http://idp.example/token", **credentials})
    assert load_settings({"SAGA_TOKEN_URL": "http://127.0.0.1:8080/token", **credentials}).identity.token_url


def test_the_client_secret_is_never_in_the_settings_repr() -> None:
    settings = load_settings(
        {"SAGA_TOKEN_URL": "https://idp/token", "SAGA_CLIENT_ID": "w", "SAGA_CLIENT_SECRET": "s3cret"}
    )
    assert "s3cret" not in repr(settings)

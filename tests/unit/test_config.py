"""The orchestrator's settings: defaults for the local stack, every value overridable."""

from pathlib import Path

import pytest

from chassis.tokens import AUDITOR_SUBJECT, DEV_IDENTITY_URL, SAGA_SUBJECT, TOKEN_PATH
from observability.tracing import TracingSettings
from orchestrator.breakers import BreakerSettings
from orchestrator.config import IdentitySettings, OrchestratorSettings, load_audit_settings, load_settings
from orchestrator.versioning import code_build_id

REPO_VAR_DIR = Path(__file__).resolve().parents[2] / "var"
SECRET = {"SAGA_CLIENT_SECRET": "s3cret"}
"""The one setting without a default: the worker's secret at the token endpoint."""


def test_defaults_fit_the_local_stack() -> None:
    assert load_settings(SECRET) == OrchestratorSettings(
        temporal_address="127.0.0.1:7233",
        temporal_namespace="default",
        task_queue="orders",
        order_svc_url="http://127.0.0.1:8001",
        payment_svc_url="http://127.0.0.1:8002",
        inventory_svc_url="http://127.0.0.1:8003",
        notification_svc_url=None,
        breakers=BreakerSettings(fail_max=5, reset_seconds=10.0, redis_url=None),
        identity=IdentitySettings(
            token_url=DEV_IDENTITY_URL + TOKEN_PATH,  # identity_svc on its default port
            client_id=SAGA_SUBJECT,
            client_secret="s3cret",
            scope=None,
        ),
        metrics_address="127.0.0.1:9464",
        tracing=TracingSettings(REPO_VAR_DIR / "traces"),
        build_id=code_build_id(),
    )


def test_environment_overrides_every_value() -> None:
    environ = {
        "TEMPORAL_ADDRESS": "temporal:7233",
        "TEMPORAL_NAMESPACE": "shop",
        "TEMPORAL_TASK_QUEUE": "orders-eu",
        "ORDER_SVC_URL": "http://orders",
        "PAYMENT_SVC_URL": "http://payments",
        "INVENTORY_SVC_URL": "http://inventory",
        "NOTIFICATION_SVC_URL": "http://notifications",
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
        "SAGA_BUILD_ID": "2026.12.1-rc_2",
    }

    assert load_settings(environ) == OrchestratorSettings(
        "temporal:7233",
        "shop",
        "orders-eu",
        "http://orders",
        "http://payments",
        "http://inventory",
        "http://notifications",
        BreakerSettings(3, 2.5, "redis://cache:6379/1"),
        IdentitySettings(
            "https://idp/realms/shop/protocol/openid-connect/token",
            "saga-worker",
            "s3cret",
            "saga",
        ),
        "0.0.0.0:9100",
        TracingSettings(Path("/srv/saga/var/traces")),
        "2026.12.1-rc_2",
    )
    assert load_settings(SECRET | {"SAGA_TRACES_DIR": "/spans"}).tracing.traces_dir == Path("/spans")
    assert (
        load_settings(SECRET | {"WORKER_METRICS_ADDRESS": ""}).metrics_address is None
    )  # no metrics endpoint


@pytest.mark.parametrize("credentials", [{}, {"SAGA_CLIENT_ID": "saga-worker"}, {"SAGA_CLIENT_SECRET": ""}])
def test_without_a_client_secret_the_worker_does_not_start(credentials: dict[str, str]) -> None:
    """No token, no saga: a worker that cannot sign in at the token endpoint says so at once."""
    with pytest.raises(ValueError, match="SAGA_CLIENT_SECRET is needed"):
        load_settings({"SAGA_TOKEN_URL": "https://idp/token", **credentials})


def test_a_token_url_must_be_https_unless_on_this_machine() -> None:
    credentials = {"SAGA_CLIENT_ID": "saga-worker", "SAGA_CLIENT_SECRET": "s3cret"}
    with pytest.raises(ValueError, match="https"):
        load_settings({"SAGA_TOKEN_URL": "http://idp.example/token", **credentials})
    assert load_settings({"SAGA_TOKEN_URL": "http://127.0.0.1:8080/token", **credentials}).identity.token_url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1:8003",
        "127.0.0.1:8003",
        "http://",
        "http://worker:s3cret@127.0.0.1:8003",
        "http://127.0.0.1:8003?debug=1",
        "http://127.0.0.1:8003#top",
    ],
)
@pytest.mark.parametrize("variable", ["INVENTORY_SVC_URL", "NOTIFICATION_SVC_URL"])
def test_a_service_url_a_call_could_not_use_as_is_stops_the_worker_at_start(url: str, variable: str) -> None:
    environ = {"SAGA_CLIENT_SECRET": "s3cret", variable: url}
    with pytest.raises(ValueError, match=f"{variable} must") as refused:
        load_settings(environ)
    assert "s3cret" not in str(refused.value)


def test_the_client_secret_is_never_in_the_settings_repr() -> None:
    settings = load_settings(
        {"SAGA_TOKEN_URL": "https://idp/token", "SAGA_CLIENT_ID": "w", "SAGA_CLIENT_SECRET": "s3cret"}
    )
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize("build_id", ["-v2", "v2/eu", "v 2", "x" * 129, "v2:1"])
def test_a_build_id_that_is_not_an_image_tag_like_name_fails_at_start(build_id: str) -> None:
    with pytest.raises(ValueError, match="a build id is 1 to 128"):
        load_settings(SECRET | {"SAGA_BUILD_ID": build_id})


def test_the_build_id_follows_the_code_and_only_the_code(tmp_path: Path) -> None:
    package = tmp_path / "orchestrator"
    package.mkdir()
    (package / "workflows.py").write_text("STEPS = 1\n")
    (package / "notes.txt").write_text("not code")
    first = code_build_id([package])

    (package / "notes.txt").write_text("changed, still not code")
    assert code_build_id([package]) == first
    (package / "workflows.py").write_text("STEPS = 2\n")
    assert code_build_id([package]) != first
    assert first.startswith("code-")
    assert load_settings(SECRET).build_id == code_build_id()


def test_the_audit_reads_as_the_auditor_client_of_its_own_at_the_saga_token_endpoint() -> None:
    audit = load_audit_settings(
        SECRET | {"SAGA_AUDITOR_CLIENT_SECRET": "a", "ORDER_SAGA_DEADLINE_SECONDS": "120"}
    )
    assert audit.deadline_seconds == 120
    assert audit.identity == IdentitySettings(DEV_IDENTITY_URL + TOKEN_PATH, AUDITOR_SUBJECT, "a", None)


def test_the_auditor_is_a_client_of_its_own_or_no_audit_runs() -> None:
    saga = {"SAGA_TOKEN_URL": "https://idp/token", "SAGA_CLIENT_ID": "saga-worker", "SAGA_CLIENT_SECRET": "s"}
    assert load_audit_settings(saga).identity is None  # without its secret, no audit
    audit = load_audit_settings(
        saga
        | {
            "SAGA_AUDITOR_CLIENT_ID": "shop-auditor",
            "SAGA_AUDITOR_CLIENT_SECRET": "a",
            "SAGA_AUDITOR_TOKEN_SCOPE": "audit",
        }
    ).identity
    assert audit is not None
    assert (audit.token_url, audit.client_id, audit.client_secret, audit.scope) == (
        "https://idp/token",
        "shop-auditor",
        "a",
        "audit",
    )
    with pytest.raises(ValueError, match="a client of its own"):
        load_audit_settings(
            saga | {"SAGA_AUDITOR_CLIENT_ID": saga["SAGA_CLIENT_ID"], "SAGA_AUDITOR_CLIENT_SECRET": "a"}
        )


@pytest.mark.parametrize("deadline", ["0", "soon", "-5"])
def test_a_malformed_saga_deadline_is_refused_by_the_audit_settings(deadline: str) -> None:
    with pytest.raises(ValueError, match="ORDER_SAGA_DEADLINE_SECONDS"):
        load_audit_settings(SECRET | {"ORDER_SAGA_DEADLINE_SECONDS": deadline})

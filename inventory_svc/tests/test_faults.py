"""The chassis' fault injection (chassis.faults), exercised through the inventory's endpoints."""

import multiprocessing
import time
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from inventory.models import Product, Reservation

from chassis.faults import KINDS, FaultConfig, FaultStore
from chassis.idempotency.models import IdempotencyRecord
from chassis.settings import service_settings

pytestmark = pytest.mark.django_db

FAULTS = "/api/v1/faults"
PRODUCT = {"sku": "A", "name": "Widget", "price_cents": 100, "on_hand": 3}
DEFAULT_CONFIG = {"error_rate": 0.0, "latency_ms": [0, 0], "lost_ack_rate": 0.0, "paths": None}
NOTHING_INJECTED = {"error": 0, "lost_ack": 0, "latency": 0}


@pytest.fixture
def chaos(settings, tmp_path):
    """Fault injection on, its file in a fresh var dir."""
    settings.CHAOS_ENABLED = True
    settings.VAR_DIR = tmp_path
    return tmp_path


def set_faults(client, **config) -> dict:
    r = client.put(FAULTS, config)
    assert r.status_code == 200, r.content
    return r.json()


def injected(client) -> dict:
    return client.get(FAULTS).json()["injected"]


# --- switched off ---


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_without_chaos_the_endpoint_is_404_and_writes_nothing(operator, settings, tmp_path, method):
    settings.CHAOS_ENABLED = False
    settings.VAR_DIR = tmp_path
    r = getattr(operator, method)(FAULTS)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert list(tmp_path.iterdir()) == []


def test_without_chaos_the_middleware_never_reads_the_fault_file(operator, chaos, settings, monkeypatch):
    set_faults(operator, error_rate=1.0)
    settings.CHAOS_ENABLED = False

    def must_not_be_called(self):
        raise AssertionError("the fault file was read while chaos is off")

    monkeypatch.setattr(FaultStore, "active_config", must_not_be_called)
    r = operator.post("/api/v1/products", PRODUCT)
    assert r.status_code == 201
    assert Product.objects.filter(sku="A").exists()


# --- the endpoint ---


def test_put_get_delete_roundtrip(operator, chaos):
    assert operator.get(FAULTS).json() == {"config": DEFAULT_CONFIG, "injected": NOTHING_INJECTED}

    config = {
        "error_rate": 0.25,
        "latency_ms": [5, 10],
        "lost_ack_rate": 1,
        "paths": ["/api/v1/reservations"],
    }
    stored = set_faults(operator, **config)
    assert stored == {**config, "lost_ack_rate": 1.0}
    assert operator.get(FAULTS).json() == {"config": stored, "injected": NOTHING_INJECTED}
    assert (chaos / "faults" / "inventory.json").is_file()

    # PUT replaces the whole config: fields left out fall back to their defaults.
    assert set_faults(operator, latency_ms=[1, 2]) == {**DEFAULT_CONFIG, "latency_ms": [1, 2]}
    # What GET shows can be PUT back as it is.
    shown = operator.get(FAULTS).json()["config"]
    assert set_faults(operator, **shown) == shown

    r = operator.delete(FAULTS)
    assert r.status_code == 204
    assert r.content == b""
    assert operator.get(FAULTS).json() == {"config": DEFAULT_CONFIG, "injected": NOTHING_INJECTED}
    assert not (chaos / "faults" / "inventory.json").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"error_rate": -0.1}, "error_rate"),
        ({"error_rate": "0.5"}, "error_rate"),
        ({"error_rate": True}, "error_rate"),
        ({"lost_ack_rate": 2}, "lost_ack_rate"),
        ({"lost_ack_rate": None}, "lost_ack_rate"),
        ({"latency_ms": [100, 50]}, "latency_ms"),
        ({"latency_ms": [-1, 5]}, "latency_ms"),
        ({"latency_ms": [0, 60_001]}, "latency_ms"),
        ({"latency_ms": [1.5, 2]}, "latency_ms"),
        ({"latency_ms": [1]}, "latency_ms"),
        ({"latency_ms": [1, 2, 3]}, "latency_ms"),
        ({"latency_ms": 100}, "latency_ms"),
        ({"paths": "/api/v1/"}, "paths"),
        ({"paths": ["api/v1/products"]}, "paths"),
        ({"paths": [3]}, "paths"),
        ({"paths": []}, "paths"),
        ({"eror_rate": 1}, "eror_rate"),
    ],
)
def test_bad_config_is_400_in_the_error_shape_and_changes_nothing(operator, chaos, body, field):
    before = set_faults(operator, error_rate=0.5)
    r = operator.put(FAULTS, body)
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
    assert field in r.json()["details"]
    assert operator.get(FAULTS).json()["config"] == before


def test_a_body_that_is_not_an_object_or_not_json_is_400(operator, chaos):
    not_an_object = operator.put(FAULTS, [0.5])
    assert not_an_object.status_code == 400
    assert not_an_object.json()["code"] == "validation_error"
    malformed = operator.client.generic("PUT", FAULTS, b'{"error_rate": ', content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "malformed_json"


# --- the faults ---


def test_error_rate_one_answers_503_without_doing_the_work(operator, chaos, caplog):
    set_faults(operator, error_rate=1.0)
    r = operator.post("/api/v1/products", PRODUCT, key="k-1")
    assert r.status_code == 503
    assert r.json()["code"] == "fault_injected"
    assert not Product.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    assert injected(operator) == {**NOTHING_INJECTED, "error": 1}
    lines = [rec.fields for rec in caplog.records if "fault" in getattr(rec, "fields", {})]
    assert lines == [{"fault": "error", "method": "POST", "path": "/api/v1/products"}]


def test_lost_ack_commits_the_work_and_the_key_then_answers_503(operator, chaos):
    set_faults(operator, lost_ack_rate=1.0)
    lost = operator.post("/api/v1/products", PRODUCT, key="k-1")
    assert lost.status_code == 503
    assert lost.json()["code"] == "fault_injected_lost_ack"
    assert Product.objects.filter(sku="A").count() == 1
    record = IdempotencyRecord.objects.get(key="k-1")
    assert record.state == IdempotencyRecord.State.COMPLETED
    assert record.status_code == 201

    # While the fault is on, the retry's answer (a replay) is lost too, and nothing runs twice.
    again = operator.post("/api/v1/products", PRODUCT, key="k-1")
    assert again.status_code == 503
    assert Product.objects.count() == 1
    assert injected(operator) == {**NOTHING_INJECTED, "lost_ack": 2}

    operator.delete(FAULTS)
    replayed = operator.post("/api/v1/products", PRODUCT, key="k-1")
    assert replayed.status_code == 201
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.content == bytes(record.body)
    assert replayed.json()["sku"] == "A"
    assert Product.objects.count() == 1


def test_only_paths_under_the_given_prefixes_are_faulted(operator, saga, chaos):
    set_faults(operator, error_rate=1.0, paths=["/internal/v1/reservations"])
    assert operator.post("/api/v1/products", PRODUCT).status_code == 201
    assert operator.get("/api/v1/products/A").status_code == 200
    r = saga.post(
        "/internal/v1/reservations", {"order_id": str(uuid.uuid4()), "items": [{"sku": "A", "quantity": 1}]}
    )
    assert r.status_code == 503
    assert r.json()["code"] == "fault_injected"
    assert not Reservation.objects.exists()
    assert injected(operator) == {**NOTHING_INJECTED, "error": 1}


def test_health_admin_and_the_fault_endpoint_are_never_faulted(operator, chaos):
    set_faults(operator, error_rate=1.0, paths=["/"])
    assert operator.get("/healthz").status_code == 200
    assert operator.get("/readyz").status_code == 200
    assert operator.get("/admin/").status_code == 302  # to the login page
    assert operator.get(FAULTS).status_code == 200
    assert operator.get("/api/v1/products").status_code == 503  # the config is live
    assert injected(operator) == {**NOTHING_INJECTED, "error": 1}


def test_latency_delays_the_request_and_is_counted(operator, chaos):
    set_faults(operator, latency_ms=[200, 200])
    started = time.perf_counter()
    r = operator.post("/api/v1/products", PRODUCT)
    assert time.perf_counter() - started >= 0.2
    assert r.status_code == 201
    assert injected(operator) == {**NOTHING_INJECTED, "latency": 1}


# --- the shared file ---


def test_stores_of_the_same_file_share_config_and_counters(tmp_path):
    file = tmp_path / "faults" / "inventory.json"
    first, second = FaultStore(file), FaultStore(file)  # as two worker processes would hold them
    assert first.active_config() is None

    first.put(FaultConfig(error_rate=0.5))
    assert first.active_config() == second.active_config() == FaultConfig(error_rate=0.5)
    first.record(["error"])
    second.record(["error", "latency"])
    second.put(FaultConfig(lost_ack_rate=1.0))
    assert first.active_config() == FaultConfig(lost_ack_rate=1.0), (
        "a cached config is dropped when the file changes"
    )
    assert FaultStore(file).snapshot() == (
        FaultConfig(lost_ack_rate=1.0),
        {"error": 2, "lost_ack": 0, "latency": 1},
    )

    second.clear()
    assert first.active_config() is None
    assert first.snapshot() == (FaultConfig(), dict.fromkeys(KINDS, 0))


def _record_errors(file, times: int) -> None:
    store = FaultStore(file)
    for _ in range(times):
        store.record(["error"])


def test_counters_stay_exact_when_processes_count_at_once(tmp_path):
    file = tmp_path / "faults" / "inventory.json"
    FaultStore(file).put(FaultConfig(error_rate=1.0))
    fork = multiprocessing.get_context("fork")
    workers = [fork.Process(target=_record_errors, args=(file, 50)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    assert FaultStore(file).snapshot()[1] == {"error": 200, "lost_ack": 0, "latency": 0}


# --- settings ---


def _settings(tmp_path, **environ) -> dict:
    return service_settings(name="inventory", base_dir=tmp_path, apps=["inventory"], environ=environ)


PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "a-real-production-secret-key-long-enough-to-be-one-0123456789",
    "DATABASE_URL": "postgres://inventory@db.example/inventory",
    "ALLOWED_HOSTS": "inventory.example",
    "JWT_ISSUER": "https://idp.example/realms/shop",
    "JWT_AUDIENCE": "saga-orders",
    "JWT_JWKS_URL": "https://idp.example/jwks",
    "JWT_SAGA_SUBJECTS": "service-account-saga-worker",
    "JWT_AUDITOR_SUBJECTS": "service-account-saga-auditor",
    "REDIS_URL": "redis://cache.example:6379/0",
    "EVENTS_BROKER_URL": "amqp://saga:secret@rabbitmq.example:5672/shop",
    "NUM_PROXIES": "1",
}


def test_production_refuses_chaos_at_settings_load(tmp_path):
    assert _settings(tmp_path, **PRODUCTION)["CHAOS_ENABLED"] is False
    with pytest.raises(ImproperlyConfigured, match="SAGA_CHAOS"):
        _settings(tmp_path, **PRODUCTION, SAGA_CHAOS="1")


def test_chaos_is_on_only_when_saga_chaos_is_1(tmp_path):
    assert _settings(tmp_path, SAGA_VAR_DIR=str(tmp_path))["CHAOS_ENABLED"] is False
    assert _settings(tmp_path, SAGA_VAR_DIR=str(tmp_path), SAGA_CHAOS="0")["CHAOS_ENABLED"] is False
    enabled = _settings(tmp_path, SAGA_VAR_DIR=str(tmp_path), SAGA_CHAOS="1")
    assert enabled["CHAOS_ENABLED"] is True
    assert enabled["VAR_DIR"] == tmp_path
    with pytest.raises(ImproperlyConfigured, match="SAGA_CHAOS"):
        _settings(tmp_path, SAGA_VAR_DIR=str(tmp_path), SAGA_CHAOS="yes")

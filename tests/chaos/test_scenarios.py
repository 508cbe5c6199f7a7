"""Every chaos scenario in its short form, run as a user runs it (`sagactl chaos ... --json`): each
must end with every order final as its kind demands, zero invariant violations, every final order
notified once, and proof that it really injected what it claims, so a scenario that silently injects
nothing fails. The events go through RabbitMQ where one answers (tests/conftest.py)."""

import pytest

from tests.support.broker import NO_RABBITMQ, RABBITMQ
from tests.support.chaos import run_scenario


def test_http_faults(tmp_path):
    report = run_scenario(tmp_path, "http-faults", 20)
    injected = report["faults_injected"]
    assert injected["error"] > 0
    assert injected["lost_ack"] > 0
    assert injected["latency"] > 0
    assert report["calls_beyond_first"] > 0


def test_worker_kill(tmp_path):
    report = run_scenario(tmp_path, "worker-kill", 20)
    assert report["kills"]["worker"] >= 1
    assert report["restarts"]["worker"] >= 1
    assert report["attempts_beyond_first"] > 0, "a kill met activities in flight, and they were retried"


def test_service_kill(tmp_path):
    report = run_scenario(tmp_path, "service-kill", 20)
    killed = {name for name, count in report["kills"].items() if count}
    assert killed
    assert all(report["restarts"][name] >= 1 for name in killed)
    assert killed <= {"order_svc", "payment_svc", "inventory_svc"}


@pytest.mark.any_database  # what a restarted Temporal keeps is Temporal's
def test_temporal_restart(tmp_path):
    report = run_scenario(tmp_path, "temporal-restart", 20)
    assert report["kills"] == {"temporal": report["kills"]["temporal"]}
    assert report["kills"]["temporal"] >= 1
    assert report["restarts"]["temporal"] >= 1


def test_outage(tmp_path):
    report = run_scenario(tmp_path, "outage", 20)
    assert report["faults_injected"]["error"] > 0
    assert report["attempts_beyond_first"] > 0, "sagas waited out the outage"


@pytest.mark.any_database  # which version a saga runs on is Temporal's
def test_rollout(tmp_path):
    """Workers of both versions killed while half the new sagas ramp to the second: each saga still
    ends on the version it started on (the audit's exactly-once check would see a step done twice)."""
    report = run_scenario(tmp_path, "rollout", 20)
    assert report["kills"]["worker"] >= 1
    assert report["kills"]["worker-chaos-v2"] >= 1
    assert all(report["restarts"][name] >= 1 for name in ("worker", "worker-chaos-v2"))
    by_version = report["sagas_by_version"]
    assert len(by_version) == 2, by_version
    assert by_version["chaos-v2"] >= 1


@pytest.mark.skipif(not RABBITMQ, reason=NO_RABBITMQ)
def test_events(tmp_path):
    """Each publisher and the notifier killed, the broker's connections cut, the mail server refusing
    mail for a while: every event is still published, every final order mailed once, nothing dead-lettered."""
    report = run_scenario(tmp_path, "events", 20)
    for name in ("order-publisher", "payment-publisher", "inventory-publisher", "notifier"):
        assert report["kills"][name] >= 1, name
        assert report["restarts"][name] >= 1, name
    assert report["broker_cuts"] >= 1
    assert report["mail"]["refused"] >= 1, "a send met the refusing server, and was tried again"
    assert report["dead_letters"] == 0


def test_mixed(tmp_path):
    report = run_scenario(tmp_path, "mixed", 30)
    assert report["faults_injected"]["error"] > 0
    assert report["faults_injected"]["lost_ack"] > 0
    assert sum(report["kills"].values()) >= 2
    assert sum(report["restarts"].values()) >= 2
    assert report["attempts_beyond_first"] > 0

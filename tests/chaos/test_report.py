"""The chaos report's verdict, alone: any violation, unexpected outcome or unfinished order fails it."""

import pytest

from infra.chaos import ChaosReport

pytestmark = pytest.mark.any_database

CLEAN_AUDIT = {"ok": True, "invariants": [{"name": "money", "checked": 3, "ok": True, "violations": []}]}


def report(**changes) -> ChaosReport:
    fields = {
        "scenario": "mixed",
        "seed": 1,
        "orders": 3,
        "by_outcome": {"CONFIRMED": 3},
        "unexpected": [],
        "not_final": [],
        "faults_injected": {},
        "kills": {},
        "restarts": {},
        "attempts_beyond_first": 0,
        "sagas_by_version": {"code-1": 3},
        "calls_beyond_first": 0,
        "place_retries": 0,
        "seconds_to_final": {"p50": 1.0, "p99": 2.0, "max": 2.0},
        "duration_seconds": 5.0,
        "audit": CLEAN_AUDIT,
    }
    return ChaosReport(**{**fields, **changes})


def test_a_clean_run_is_ok():
    assert report().ok
    assert report().as_json()["violations"] == 0


def test_a_violation_fails_the_run():
    violation = {"invariant": "money", "subject": "order o-1", "detail": "captured twice"}
    audit = {
        "ok": False,
        "invariants": [{"name": "money", "checked": 3, "ok": False, "violations": [violation]}],
    }
    failed = report(audit=audit)
    assert not failed.ok
    assert failed.violations == 1


def test_a_wrong_outcome_or_an_unfinished_order_fails_the_run():
    assert not report(unexpected=[{"order_id": "o-1", "expected": "CONFIRMED", "got": "timed_out"}]).ok
    assert not report(not_final=["o-2"]).ok

"""The scheduled operations on a real stack: `sagactl up`'s stack has an audit schedule and a purge
schedule (paused in a test stack, so runs happen only when triggered); a triggered audit runs as an
AuditRun workflow, reads everything as the read-only auditor, returns what it found and exports the
audit's gauges on the worker's /metrics; a triggered purge deletes an expired idempotency record
through each service's internal command and keeps a fresh one. Every wait is bounded.
"""

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from infra.stack import Stack
from orchestrator.metrics import AUDIT_LAST_CLEAN_RUN, AUDIT_LAST_RUN, AUDIT_VIOLATIONS
from saga_contract import (
    AUDIT_SCHEDULE_ID,
    AUDIT_WORKFLOW_TYPE,
    DEFAULT_AUDIT_EVERY_SECONDS,
    IDEMPOTENCY_PURGE_EVERY_SECONDS,
    IDEMPOTENCY_PURGE_SCHEDULE_ID,
    IDEMPOTENCY_PURGE_WORKFLOW_TYPE,
    NAMESPACE,
)
from tests.support.api import unique
from tests.support.schedules import run_once

pytestmark = pytest.mark.any_database

INVARIANTS = {"money", "stock", "liveness", "exactly_once", "events", "notifications"}


def worker_gauges(stack: Stack, name: str) -> list[tuple[str, float]]:
    """(labels, value) of every sample of `name` on the worker's /metrics."""
    text = httpx.get(stack.config.worker_metrics_url, timeout=10).text
    samples = []
    for line in text.splitlines():
        metric, _, value = line.rpartition(" ")
        if metric == name or metric.startswith(name + "{"):
            samples.append((metric.removeprefix(name), float(value)))
    return samples


def service_shell(stack: Stack, service: str, code: str) -> str:
    """Run Python in a service's `manage.py shell` with the stack's settings for it; its stdout. Only
    to stand in for time passing (aging a record), as nothing over the API can."""
    config = stack.config
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "SAGA_VAR_DIR": str(config.var_dir)}
    if service in config.database_urls:
        env["DATABASE_URL"] = config.database_urls[service]
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--verbosity", "0", "--command", textwrap.dedent(code)],
        cwd=config.root / service,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_both_schedules_exist_with_their_intervals(stack):
    async def describe() -> dict[str, Any]:
        client = await Client.connect(stack.temporal_address, namespace=NAMESPACE)
        return {
            schedule_id: await client.get_schedule_handle(schedule_id).describe()
            for schedule_id in (AUDIT_SCHEDULE_ID, IDEMPOTENCY_PURGE_SCHEDULE_ID)
        }

    described = asyncio.run(describe())
    audit, purge = described[AUDIT_SCHEDULE_ID].schedule, described[IDEMPOTENCY_PURGE_SCHEDULE_ID].schedule
    assert [spec.every for spec in audit.spec.intervals] == [timedelta(seconds=DEFAULT_AUDIT_EVERY_SECONDS)]
    assert [spec.every for spec in purge.spec.intervals] == [
        timedelta(seconds=IDEMPOTENCY_PURGE_EVERY_SECONDS)
    ]
    assert audit.action.workflow == AUDIT_WORKFLOW_TYPE  # type: ignore[union-attr]  # a workflow action
    assert purge.action.workflow == IDEMPOTENCY_PURGE_WORKFLOW_TYPE  # type: ignore[union-attr]  # a workflow action
    assert audit.state.paused  # a test stack's: runs only when triggered
    assert purge.state.paused


def test_a_triggered_audit_reads_everything_and_exports_what_it_found(stack, api):
    customer = api.create_account()["customer_id"]
    sku = api.create_product(price_cents=300, on_hand=5)["sku"]
    order = api.place_order(customer, {sku: 1})
    assert api.wait_for_final(order["id"])["status"] == "CONFIRMED"
    began = time.time()

    workflow_id, workflow_type, result = run_once(stack, AUDIT_SCHEDULE_ID)

    assert workflow_id.startswith(f"{AUDIT_SCHEDULE_ID}-")
    assert workflow_type == AUDIT_WORKFLOW_TYPE
    assert set(result["by_invariant"]) == INVARIANTS
    assert result["violations"] == sum(result["by_invariant"].values())
    assert result["ok"] == (result["violations"] == 0), result["report"]
    assert result["seen"]["orders"] >= 1
    assert result["seen"]["products"] >= 1
    assert len(result["report"]) == len(INVARIANTS), "a summary line per invariant, no customer's data"

    by_invariant = {
        invariant: value
        for labels, value in worker_gauges(stack, AUDIT_VIOLATIONS)
        for invariant in INVARIANTS
        if f'invariant="{invariant}"' in labels
    }
    assert by_invariant == {name: float(count) for name, count in result["by_invariant"].items()}
    [(_, last_run)] = worker_gauges(stack, AUDIT_LAST_RUN)
    assert last_run >= int(began)
    clean = worker_gauges(stack, AUDIT_LAST_CLEAN_RUN)
    if result["ok"]:
        assert [value >= int(began) for _, value in clean] == [True]


def test_a_triggered_purge_deletes_an_expired_idempotency_record_and_keeps_a_fresh_one(stack, api):
    expired_key, fresh_key = unique("expired"), unique("fresh")
    api.inventory.check(
        api.inventory.post(
            "/api/v1/products",
            {"sku": unique("P"), "name": "n", "price_cents": 1, "on_hand": 1},
            key=expired_key,
        )
    )
    api.inventory.check(
        api.inventory.post(
            "/api/v1/products",
            {"sku": unique("P"), "name": "n", "price_cents": 1, "on_hand": 1},
            key=fresh_key,
        )
    )
    service_shell(
        stack,
        "inventory_svc",
        f"""
        from datetime import timedelta
        from django.conf import settings
        from django.utils import timezone
        from chassis.idempotency.models import IdempotencyRecord
        age = timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS + 1)
        assert IdempotencyRecord.objects.filter(key={expired_key!r}).update(updated_at=timezone.now() - age) == 1
        """,
    )

    _, workflow_type, result = run_once(stack, IDEMPOTENCY_PURGE_SCHEDULE_ID)

    assert workflow_type == IDEMPOTENCY_PURGE_WORKFLOW_TYPE
    by_service = {outcome["service"]: outcome for outcome in result}
    assert set(by_service) == {"inventory_svc", "payment_svc", "order_svc"}
    assert by_service["inventory_svc"]["deleted"] >= 1
    assert {outcome["older_than_hours"] for outcome in result} == {168}
    left = service_shell(
        stack,
        "inventory_svc",
        f"""
        from chassis.idempotency.models import IdempotencyRecord
        kept = IdempotencyRecord.objects.filter(key__in=[{expired_key!r}, {fresh_key!r}])
        print(sorted(kept.values_list("key", flat=True)))
        """,
    )
    assert left.strip() == repr([fresh_key])


def test_setting_up_the_schedules_again_fails_nothing_and_keeps_them_paused(stack):
    from infra.stack.schedules import ensure_schedules

    asyncio.run(ensure_schedules(stack.temporal_address, audit_every_seconds=DEFAULT_AUDIT_EVERY_SECONDS))

    async def paused() -> list[bool]:
        client = await Client.connect(stack.temporal_address, namespace=NAMESPACE)
        return [
            (await client.get_schedule_handle(schedule_id).describe()).schedule.state.paused
            for schedule_id in (AUDIT_SCHEDULE_ID, IDEMPOTENCY_PURGE_SCHEDULE_ID)
        ]

    assert asyncio.run(paused()) == [True, True]

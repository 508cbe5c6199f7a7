"""The scheduled operations, as workflows that Temporal Schedules start (infra/stack/schedules.py):
`AuditRun` audits the whole system, `IdempotencyPurge` has every service delete its expired
idempotency records. Each run is one short workflow, so the Web UI lists every run with its outcome.

Deterministic orchestration only: the work is done by activities (orchestrator.operations_activities).
No side effects at import: the workflow sandbox imports this module again. Both workflows upgrade to
the newest worker version on their next task (they are short, and a new run starts every few minutes).
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from orchestrator.operations_activities import (
        PURGE_ACTIVITY,
        AuditOutcome,
        OperationsActivities,
        PurgeOutcome,
        PurgeRequest,
    )
    from saga_contract import AUDIT_WORKFLOW_TYPE, IDEMPOTENCY_PURGE_WORKFLOW_TYPE, idempotency_key

PURGED_SERVICES = ("inventory_svc", "payment_svc", "order_svc")
"""The services whose idempotency records are purged, by the names the worker's clients carry."""

AUDIT_ATTEMPT_TIMEOUT = timedelta(minutes=4)
"""An audit reads every order, payment and reservation: allowed a few minutes, less than the default
interval between two runs (which the schedule never lets overlap)."""
AUDIT_RETRIES = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=3,
    non_retryable_error_types=["auditor_not_configured"],
)
"""A run that cannot read the system tries three times, then fails for everyone to see; the next
scheduled run starts afresh."""
PURGE_ATTEMPT_TIMEOUT = timedelta(minutes=2)
PURGE_RETRIES = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
)


@workflow.defn(name=AUDIT_WORKFLOW_TYPE, versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class AuditRun:
    """One audit: its result is what the audit found. Violations are a finding, not a failure: the
    run completes and reports them (and the gauges and alerts carry them on); only a run that could
    not read the system fails."""

    @workflow.run
    async def run(self) -> AuditOutcome:
        return await workflow.execute_activity_method(
            OperationsActivities.audit_system,
            start_to_close_timeout=AUDIT_ATTEMPT_TIMEOUT,
            retry_policy=AUDIT_RETRIES,
        )


@workflow.defn(name=IDEMPOTENCY_PURGE_WORKFLOW_TYPE, versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class IdempotencyPurge:
    """Every service purges its expired idempotency records, all at once; the result says how many
    each deleted. A service that keeps failing fails the run; the others' purges stand."""

    @workflow.run
    async def run(self) -> list[PurgeOutcome]:
        key = idempotency_key(workflow.info().workflow_id, PURGE_ACTIVITY)
        return list(
            await asyncio.gather(
                *(
                    workflow.execute_activity_method(
                        OperationsActivities.purge_idempotency_records,
                        PurgeRequest(service=service, idempotency_key=key),
                        start_to_close_timeout=PURGE_ATTEMPT_TIMEOUT,
                        retry_policy=PURGE_RETRIES,
                    )
                    for service in PURGED_SERVICES
                )
            )
        )

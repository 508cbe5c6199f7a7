"""The activities of the scheduled operations (orchestrator.operations): one audit of the whole system,
and one service's purge of its expired idempotency records.

The audit reads the services as the read-only auditor (never as the saga or an operator) and
Temporal through its client API, then sets the audit's gauges. The purge is a command of each service,
sent with the saga's identity; no activity here ever opens a service's database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from infra.audit.report import AuditReport
from infra.audit.run import run_audit
from orchestrator import metrics
from orchestrator.auth import NoToken, TokenSource, token_source
from orchestrator.clients import ServiceClient
from orchestrator.config import OrchestratorSettings, load_audit_settings
from orchestrator.errors import BusinessError, TransientServiceError
from saga_contract import IDEMPOTENCY_PURGE_PATH

AUDIT_ACTIVITY = "audit_system"
PURGE_ACTIVITY = "purge_idempotency_records"


@dataclass
class AuditOutcome:
    """What one audit found: each invariant's violation count, what it read, and the report's summary
    lines (one per invariant). Not the violations themselves: they name customers and amounts, and a
    run's result is kept in Temporal's history for anyone with the Web UI to read; `sagactl audit`
    shows them."""

    ok: bool
    violations: int
    by_invariant: dict[str, int]
    seen: dict[str, int]
    audited_at: str
    report: list[str] = field(default_factory=list)


@dataclass
class PurgeRequest:
    service: str
    idempotency_key: str


@dataclass
class PurgeOutcome:
    service: str
    deleted: int
    older_than_hours: int


AuditRunner = Callable[[str], AuditReport]
"""Runs one audit (infra.audit.run_audit) with the given bearer token. It is synchronous, so the
activity runs it in a thread; it raises infra.rest's ServiceCallError when something cannot be read."""


class OperationsActivities:
    """The scheduled operations' activities, holding the clients they need; tests hand in fakes."""

    def __init__(
        self,
        *,
        services: Mapping[str, ServiceClient],
        auditor_tokens: TokenSource | None,
        run_audit: AuditRunner,
    ) -> None:
        self.services = services
        self.auditor_tokens = auditor_tokens
        self.run_audit = run_audit

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        return [self.audit_system, self.purge_idempotency_records]

    @activity.defn(name=AUDIT_ACTIVITY)
    async def audit_system(self) -> AuditOutcome:
        """Audit the system once and set the audit's gauges; a run that cannot read everything
        fails (and is retried) without touching them."""
        if self.auditor_tokens is None:
            raise ApplicationError(
                "the worker has no auditor identity: set SAGA_AUDITOR_CLIENT_ID and SAGA_AUDITOR_CLIENT_SECRET",
                type="auditor_not_configured",
                non_retryable=True,
            )
        try:
            token = await self.auditor_tokens.token()
        except NoToken as error:
            raise ApplicationError(f"no auditor token: {error}", type="CredentialsUnavailable") from None
        try:
            report = await asyncio.to_thread(self.run_audit, token)
        except Exception as error:
            if getattr(error, "status", None) in (401, 403):  # the token was refused: fetch a new one
                self.auditor_tokens.invalidate()
            raise ApplicationError(
                f"the audit could not read the system: {error}", type=type(error).__name__
            ) from None
        by_invariant = {result.name: len(result.violations) for result in report.results}
        metrics.audit_finished(by_invariant, at=time.time())
        activity.logger.info(
            "audit %s: %d violations",
            "clean" if report.ok else "found violations",
            sum(by_invariant.values()),
        )
        return AuditOutcome(
            ok=report.ok,
            violations=sum(by_invariant.values()),
            by_invariant=by_invariant,
            seen=dict(report.seen),
            audited_at=report.audited_at,
            report=[line for line in report.lines() if not line.startswith(" ")],
        )

    @activity.defn(name=PURGE_ACTIVITY)
    async def purge_idempotency_records(self, request: PurgeRequest) -> PurgeOutcome:
        """Have one service delete its idempotency records older than its retention."""
        client = self.services.get(request.service)
        if client is None:
            raise ApplicationError(
                f"no such service: {request.service}", type="unknown_service", non_retryable=True
            )
        try:
            answer = await client.post(
                IDEMPOTENCY_PURGE_PATH,
                {},
                idempotency_key=request.idempotency_key,
                order_id=None,
                workflow_id=activity.info().workflow_id or "",
            )
        except BusinessError as error:
            raise ApplicationError(str(error), type=error.code, non_retryable=True) from None
        except TransientServiceError as error:  # retried by the activity's retry policy
            raise ApplicationError(str(error), type=type(error).__name__) from None
        return PurgeOutcome(
            service=request.service,
            deleted=int(answer["deleted"]),
            older_than_hours=int(answer["older_than_hours"]),
        )


def scheduled_operations(
    settings: OrchestratorSettings, services: Sequence[ServiceClient]
) -> OperationsActivities:
    """The activities of the scheduled operations, over the worker's own service clients (and so its
    breakers) for the purge, and the auditor's identity for the audit."""
    audit = load_audit_settings()

    def audit_once(token: str) -> AuditReport:
        return run_audit(
            order_url=settings.order_svc_url,
            payment_url=settings.payment_svc_url,
            inventory_url=settings.inventory_svc_url,
            notification_url=settings.notification_svc_url,
            temporal_address=settings.temporal_address,
            token=token,
            namespace=settings.temporal_namespace,
            deadline_seconds=audit.deadline_seconds,
        )

    return OperationsActivities(
        services={client.service: client for client in services},
        auditor_tokens=None if audit.identity is None else token_source(audit.identity),
        run_audit=audit_once,
    )

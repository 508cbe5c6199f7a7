"""The scheduled audit's last run as operators see it: what a closed AuditRun workflow returned, or
why it failed.

The audit's result is the orchestrator's AuditOutcome, which reaches this service as plain JSON (it
imports nothing from the orchestrator); it is read field by field, and what does not fit is left out
rather than trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class AuditRunReport:
    workflow_id: str
    status: str
    """The run's workflow status: COMPLETED, or FAILED, TIMED_OUT, TERMINATED, CANCELED."""
    audited_at: str | None
    """When the audit read the system (a completed run), or when the run ended (any other)."""
    violations: int | None = None
    """How many violations the audit found; None when the run did not complete."""
    by_invariant: dict[str, int] | None = None
    summary: list[str] = field(default_factory=list)
    """The report's lines, one per invariant, as `sagactl audit` prints them."""
    message: str | None = None
    """Why a run that did not complete ended so (its failure's message)."""


def audit_report_completed(*, workflow_id: str, result: Any, closed_at: str | None) -> AuditRunReport:
    """The report of a completed run from its result (an AuditOutcome as JSON)."""
    outcome = result if isinstance(result, dict) else {}
    violations = outcome.get("violations")
    by_invariant = outcome.get("by_invariant")
    summary = outcome.get("report")
    audited_at = outcome.get("audited_at")
    return AuditRunReport(
        workflow_id=workflow_id,
        status=COMPLETED,
        audited_at=audited_at if isinstance(audited_at, str) else closed_at,
        violations=violations if _count(violations) else None,
        by_invariant=(
            {str(name): count for name, count in by_invariant.items() if _count(count)}
            if isinstance(by_invariant, dict)
            else None
        ),
        summary=[line for line in summary if isinstance(line, str)] if isinstance(summary, list) else [],
        message=None if isinstance(result, dict) else "The run's result is not an audit's.",
    )


def audit_report_failed(
    *, workflow_id: str, status: str, closed_at: str | None, message: str
) -> AuditRunReport:
    """The report of a run that did not complete: its status, when it ended and why."""
    return AuditRunReport(workflow_id=workflow_id, status=status, audited_at=closed_at, message=message)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0

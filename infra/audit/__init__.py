"""`sagactl audit`: proves from what the services and Temporal say that money and stock add up.

It reads the three services over their REST API and each order's workflow over Temporal's client API,
checks four invariants and reports every violation. It changes nothing and never opens a database.

- `snapshot`: what it reads, and only reads;
- `invariants`: the four checks, pure functions of a snapshot;
- `report`: what it found;
- `run`: one audit, from reading to report;
- `command`: `sagactl audit` (terminal output, JSON file, exit code), imported by sagactl alone.

The worker's scheduled audit imports this package too, so it loads no terminal or stack code:
`command` is not imported here.
"""

from infra.audit.invariants import (
    DEADLINE_GRACE_SECONDS,
    check_exactly_once,
    check_liveness,
    check_money,
    check_stock,
)
from infra.audit.report import EXACTLY_ONCE, LIVENESS, MONEY, STOCK, AuditReport, InvariantResult, Violation
from infra.audit.run import run_audit
from infra.audit.snapshot import Snapshot, TemporalUnavailable, WorkflowState

__all__ = [
    "DEADLINE_GRACE_SECONDS",
    "EXACTLY_ONCE",
    "LIVENESS",
    "MONEY",
    "STOCK",
    "AuditReport",
    "InvariantResult",
    "Snapshot",
    "TemporalUnavailable",
    "Violation",
    "WorkflowState",
    "check_exactly_once",
    "check_liveness",
    "check_money",
    "check_stock",
    "run_audit",
]

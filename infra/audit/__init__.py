"""`sagactl audit`: proves from what the services and Temporal say that money and stock add up.

It reads the services over their REST API and each order's workflow over Temporal's client API,
checks six invariants (money, stock, liveness, exactly once, events and, given notification_svc,
notifications) and reports every violation. It changes nothing and never opens a database.

- `snapshot`: what it reads, and only reads;
- `invariants`: the checks, pure functions of a snapshot;
- `report`: what it found;
- `run`: one audit, from reading to report;
- `command`: `sagactl audit` (terminal output, JSON file, exit code), imported by sagactl alone.

The worker's scheduled audit imports this package too, so it loads no terminal or stack code:
`command` is not imported here.
"""

from infra.audit.invariants import (
    DEADLINE_GRACE_SECONDS,
    DELIVERY_GRACE_SECONDS,
    check_events,
    check_exactly_once,
    check_liveness,
    check_money,
    check_notifications,
    check_stock,
)
from infra.audit.report import (
    EVENTS,
    EXACTLY_ONCE,
    LIVENESS,
    MONEY,
    NOTIFICATIONS,
    STOCK,
    AuditReport,
    InvariantResult,
    Violation,
)
from infra.audit.run import run_audit
from infra.audit.snapshot import Snapshot, TemporalUnavailable, WorkflowState

__all__ = [
    "DEADLINE_GRACE_SECONDS",
    "DELIVERY_GRACE_SECONDS",
    "EVENTS",
    "EXACTLY_ONCE",
    "LIVENESS",
    "MONEY",
    "NOTIFICATIONS",
    "STOCK",
    "AuditReport",
    "InvariantResult",
    "Snapshot",
    "TemporalUnavailable",
    "Violation",
    "WorkflowState",
    "check_events",
    "check_exactly_once",
    "check_liveness",
    "check_money",
    "check_notifications",
    "check_stock",
    "run_audit",
]

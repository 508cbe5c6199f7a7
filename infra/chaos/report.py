"""What a chaos run found: orders by outcome, times to final, faults injected, repeated calls, the
audit; written as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypedDict

from infra.rest import JsonObject


class UnexpectedOutcome(TypedDict):
    """An order that ended otherwise than its kind demands: its id, the outcome due and the one seen."""

    order_id: str
    expected: str
    got: str


@dataclass
class ChaosReport:
    scenario: str
    seed: int
    orders: int
    by_outcome: dict[str, int]
    unexpected: list[UnexpectedOutcome]
    """Orders that ended otherwise than their kind demands (a valid order cancelled, say)."""
    not_final: list[str]
    faults_injected: dict[str, int]
    kills: dict[str, int]
    restarts: dict[str, int]
    attempts_beyond_first: int
    """Temporal activity attempts past the first."""
    sagas_by_version: dict[str, int]
    """How many of the run's sagas ran on each worker version (build id)."""
    calls_beyond_first: int
    """HTTP requests the services received for an order step they had already been asked for."""
    place_retries: int
    seconds_to_final: dict[str, float]
    duration_seconds: float
    mail: dict[str, int] = field(default_factory=dict)
    """The run's SMTP server: messages delivered for its orders, distinct Message-IDs, orders mailed
    more than once, messages refused while it was told to refuse."""
    breakers_opened: dict[str, int] = field(default_factory=dict)
    """How often each service's circuit breaker opened in the workers (their logs)."""
    broker_cuts: int = 0
    dead_letters: int | None = None
    """Messages in notification_svc's dead-letter queue after the run (None: no RabbitMQ to ask)."""
    audit: JsonObject = field(default_factory=dict)
    """The audit's report as JSON (infra.audit.AuditReport.as_json)."""
    soak: JsonObject = field(default_factory=dict)
    """A soak's verdict per process and the growth of its files (infra/chaos/soak.py); empty otherwise."""

    @property
    def violations(self) -> int:
        return sum(len(result["violations"]) for result in self.audit["invariants"])

    @property
    def ok(self) -> bool:
        return (
            self.audit["ok"]
            and self.violations == 0
            and not self.unexpected
            and not self.not_final
            and not self.dead_letters
            and self.mail.get("orders_mailed_twice", 0) == 0
            and not any(verdict["verdict"] == "growing" for verdict in self.soak.get("verdicts", []))
            and not any(
                verdict["verdict"] == "growing" for verdict in self.soak.get("files", {}).get("verdicts", [])
            )
        )

    def as_json(self) -> JsonObject:
        return {**asdict(self), "violations": self.violations, "ok": self.ok}


def write_json(report: ChaosReport, path: Path) -> None:
    path.write_text(json.dumps(report.as_json(), indent=2))

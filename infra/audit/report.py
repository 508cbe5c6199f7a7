"""What an audit found: each invariant's result and every violation, as lines for a person and as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from infra.rest import JsonObject

MONEY, STOCK, LIVENESS, EXACTLY_ONCE = "money", "stock", "liveness", "exactly_once"
EVENTS, NOTIFICATIONS = "events", "notifications"


@dataclass
class Violation:
    invariant: str
    subject: str
    """What is wrong: 'order <id>', 'sku <sku>', 'customer <id>', 'all accounts', 'key <key>', 'workflow <id>'."""
    detail: str


@dataclass
class InvariantResult:
    name: str
    checked: int
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass
class AuditReport:
    results: list[InvariantResult]
    audited_at: str
    """When the audit began reading (ISO 8601, UTC)."""
    seen: dict[str, int]
    """How many of each thing the audit read: orders, workflows, accounts, payments, events..."""

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def violations(self) -> list[Violation]:
        return [violation for result in self.results for violation in result.violations]

    def as_json(self) -> JsonObject:
        return {
            "ok": self.ok,
            "audited_at": self.audited_at,
            "seen": self.seen,
            "invariants": [
                {
                    "name": result.name,
                    "checked": result.checked,
                    "ok": result.ok,
                    "violations": [asdict(violation) for violation in result.violations],
                }
                for result in self.results
            ],
        }

    def lines(self) -> list[str]:
        """The text report: one line per invariant, each followed by its violations, indented."""
        lines: list[str] = []
        for result in self.results:
            count = len(result.violations)
            verdict = "OK" if result.ok else f"{count} violation{'s' if count > 1 else ''}"
            lines.append(f"{result.name:<13} checked {result.checked:<6} {verdict}")
            lines += [f"  {violation.subject}: {violation.detail}" for violation in result.violations]
        return lines

"""The deployment's monitoring files: Prometheus accepts the scrape configuration and the rules
(promtool, from Debian's prometheus package), and each alert's runbook is a heading of docs/observability.md."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.monitoring import PROMETHEUS_FILES, write_scrape_files
from infra.stack import StackConfig

RUNBOOKS = Path(__file__).resolve().parents[2] / "docs" / "observability.md"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian: apt-get install prometheus; .ci/run installs it)",
)


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run(
        [PROMTOOL, "check", "rules", str(PROMETHEUS_FILES / "rules.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


@needs_promtool
def test_promtool_accepts_the_scrape_configuration_with_a_stacks_targets(tmp_path: Path) -> None:
    configuration = write_scrape_files(StackConfig(var_dir=tmp_path), tmp_path / "prometheus")
    done = subprocess.run(
        [PROMTOOL, "check", "config", str(configuration)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_links_a_runbook_of_the_docs() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", RUNBOOKS.read_text(), flags=re.MULTILINE)
    }
    rules = (PROMETHEUS_FILES / "rules.yml").read_text()
    alerts = re.findall(r"^\s*- alert: (\w+)$", rules, flags=re.MULTILINE)
    runbooks = re.findall(r'^\s*runbook: "docs/observability\.md#([a-z0-9-]+)"$', rules, flags=re.MULTILINE)
    assert len(alerts) == len(runbooks) == 8
    assert set(runbooks) <= anchors, set(runbooks) - anchors


AUDIT_RULE_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  # Worker a found violations in an older audit; worker b ran the latest one, clean.
  - interval: 1m
    input_series:
      - {{series: 'saga_audit_violations{{instance="a", invariant="money"}}', values: '2x40'}}
      - {{series: 'saga_audit_last_run_timestamp_seconds{{instance="a"}}', values: '60x40'}}
      - {{series: 'saga_audit_violations{{instance="b", invariant="money"}}', values: '0x40'}}
      - {{series: 'saga_audit_last_run_timestamp_seconds{{instance="b"}}', values: '120x40'}}
      - {{series: 'saga_audit_last_clean_run_timestamp_seconds{{instance="b"}}', values: '120x40'}}
    alert_rule_test:
      - {{eval_time: 5m, alertname: AuditViolations, exp_alerts: []}}
      - {{eval_time: 5m, alertname: AuditNotCleanLately, exp_alerts: []}}
      - eval_time: 30m  # 1800 - 120 > 900 since minute 17, for more than 10 minutes
        alertname: AuditNotCleanLately
        exp_alerts:
          - exp_labels: {{severity: ticket}}
            exp_annotations:
              summary: "No audit has come back clean in the last 15 minutes"
              runbook: "docs/observability.md#no-clean-audit-lately"
  # Worker b's latest audit found three violations.
  - interval: 1m
    input_series:
      - {{series: 'saga_audit_violations{{instance="a", invariant="money"}}', values: '0x10'}}
      - {{series: 'saga_audit_last_run_timestamp_seconds{{instance="a"}}', values: '60x10'}}
      - {{series: 'saga_audit_violations{{instance="b", invariant="stock"}}', values: '3x10'}}
      - {{series: 'saga_audit_violations{{instance="b", invariant="money"}}', values: '0x10'}}
      - {{series: 'saga_audit_last_run_timestamp_seconds{{instance="b"}}', values: '120x10'}}
    alert_rule_test:
      - eval_time: 2m
        alertname: AuditViolations
        exp_alerts:
          - exp_labels: {{severity: page}}
            exp_annotations:
              summary: "The latest audit found 3 violations"
              runbook: "docs/observability.md#an-audit-that-found-violations"
"""


@needs_promtool
def test_the_audit_alerts_heed_only_the_latest_audit_and_a_stale_clean_run(tmp_path: Path) -> None:
    tests = tmp_path / "audit-alerts.yml"
    tests.write_text(AUDIT_RULE_TESTS.format(rules=PROMETHEUS_FILES / "rules.yml"))
    done = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_audit_alerts_query_the_gauges_the_worker_exports() -> None:
    from orchestrator.metrics import AUDIT_LAST_CLEAN_RUN, AUDIT_LAST_RUN, AUDIT_VIOLATIONS

    rules = (PROMETHEUS_FILES / "rules.yml").read_text()
    for name in (AUDIT_VIOLATIONS, AUDIT_LAST_RUN, AUDIT_LAST_CLEAN_RUN):
        assert name in rules

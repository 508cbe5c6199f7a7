"""The deployment's monitoring files: Prometheus accepts the scrape configuration and the rules
(promtool, from Debian's prometheus package), each alert's runbook is a heading of docs/observability.md,
the alerts fire on synthetic series of a failure and stay quiet on healthy ones, and the Grafana
dashboard is one grid of uniquely numbered panels."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.monitoring import PROMETHEUS_FILES, write_scrape_files
from infra.stack import StackConfig

pytestmark = pytest.mark.any_database

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = REPO_ROOT / "docs" / "observability.md"
DASHBOARD = REPO_ROOT / "infra" / "deploy" / "grafana" / "saga-orders.json"
ALERT_COUNT = 16
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
    assert f"SUCCESS: {ALERT_COUNT} rules found" in done.stdout


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
    assert len(alerts) == len(runbooks) == ALERT_COUNT
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
    assert_promtool_passes(tests)


def assert_promtool_passes(tests: Path) -> None:
    done = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_audit_alerts_query_the_gauges_the_worker_exports() -> None:
    from orchestrator.metrics import AUDIT_LAST_CLEAN_RUN, AUDIT_LAST_RUN, AUDIT_VIOLATIONS

    rules = (PROMETHEUS_FILES / "rules.yml").read_text()
    for name in (AUDIT_VIOLATIONS, AUDIT_LAST_RUN, AUDIT_LAST_CLEAN_RUN):
        assert name in rules


def event_rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS_FILES / "rules.yml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups if group["name"] == "events" for rule in group["rules"]}


def series(name: str, values: str) -> dict[str, str]:
    return {"series": name, "values": values}


def histogram(
    name: str, labels: str, counts_per_minute: dict[str, int], minutes: int = 30
) -> list[dict[str, str]]:
    """A histogram's buckets, each growing by its cumulative count every minute."""
    return [
        series(f'{name}_bucket{{{labels}, le="{le}"}}', f"0+{count}x{minutes}")
        for le, count in counts_per_minute.items()
    ]


def fires(alert: str, at: str, summary: str, **labels: str) -> dict[str, Any]:
    """A promtool check that `alert` fires at `at` once, with `labels` and this summary; its other
    annotations are the rule's own."""
    rule = event_rules()[alert]
    return {
        "eval_time": at,
        "alertname": alert,
        "exp_alerts": [
            {
                "exp_labels": {**rule["labels"], **labels},
                "exp_annotations": {**rule["annotations"], "summary": summary},
            }
        ],
    }


def quiet(alert: str, at: str) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": []}


LAG = "events_consumer_lag_seconds"
PUBLISH = "events_publish_latency_seconds"
NOTIFICATIONS = 'queue="notification.order-events"'
DEAD_LETTERS = 'queue="notification.dead-letter"'
HEALTHY_MINUTES = 45


def healthy_series() -> list[dict[str, str]]:
    """A system that works: outboxes drained within seconds, sub-second publications and handling, a
    notification queue that rises and drains, a single failed send long ago, every saga's event consumed."""
    minutes = HEALTHY_MINUTES
    return [
        series('events_outbox_oldest_age_seconds{service="order_svc"}', f"4x{minutes}"),
        series('events_outbox_oldest_age_seconds{service="inventory_svc"}', f"0x{minutes}"),
        *histogram(PUBLISH, 'exchange="orders"', {"0.1": 95, "1": 100, "5": 100, "+Inf": 100}, minutes),
        *histogram(LAG, NOTIFICATIONS, {"1": 98, "5": 100, "30": 100, "+Inf": 100}, minutes),
        series(f"events_queue_depth{{{NOTIFICATIONS}}}", " ".join(["0", "8", "3"] * (minutes // 3))),
        series(f"events_queue_depth{{{DEAD_LETTERS}}}", f"0x{minutes}"),
        series('saga_orders{outcome="CONFIRMED", reason=""}', f"0+5x{minutes}"),
        series(f'events_consumed_total{{{NOTIFICATIONS}, outcome="handled"}}', f"0+5x{minutes}"),
        series("notification_send_failures_total", f"0 0 1x{minutes}"),
        series("notification_pending_oldest_age_seconds", f"30x{minutes}"),
    ]


def event_rule_tests() -> dict[str, Any]:
    """promtool's unit tests of the events group: each alert fires on a failure's series (and not
    before its `for:`), and none fires on a healthy system."""
    return {
        "rule_files": [str(PROMETHEUS_FILES / "rules.yml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": healthy_series(),
                "alert_rule_test": [
                    quiet(alert, at) for alert in event_rules() for at in ("5m", "20m", f"{HEALTHY_MINUTES}m")
                ],
            },
            {  # order_svc's oldest event ages a minute a minute; inventory_svc publishes.
                "interval": "1m",
                "input_series": [
                    series('events_outbox_oldest_age_seconds{service="order_svc"}', "0+60x20"),
                    series('events_outbox_oldest_age_seconds{service="inventory_svc"}', "0x20"),
                ],
                "alert_rule_test": [
                    quiet("EventOutboxBacklog", "3m"),  # over a minute old since minute 2, not yet for 2
                    fires(
                        "EventOutboxBacklog",
                        "5m",
                        "order_svc's oldest unpublished event has waited 5m 0s",
                        service="order_svc",
                    ),
                ],
            },
            {  # 5 % of the events to `orders` take 10 to 30 s; `payments` is quick.
                "interval": "1m",
                "input_series": [
                    *histogram(
                        PUBLISH, 'exchange="orders"', {"0.1": 90, "5": 90, "10": 95, "30": 100, "+Inf": 100}
                    ),
                    *histogram(
                        PUBLISH, 'exchange="payments"', {"0.1": 100, "5": 100, "10": 100, "+Inf": 100}
                    ),
                ],
                "alert_rule_test": [
                    quiet("EventPublishSlow", "8m"),
                    fires(
                        "EventPublishSlow",
                        "15m",
                        "Events to orders take 26s (p99) from commit to the broker's confirm",
                        exchange="orders",
                    ),
                ],
            },
            {  # 5 % of the events reach the notifier 30 to 60 s after their commit.
                "interval": "1m",
                "input_series": histogram(LAG, NOTIFICATIONS, {"1": 90, "30": 95, "60": 100, "+Inf": 100}),
                "alert_rule_test": [
                    quiet("EventConsumerLagging", "8m"),
                    fires(
                        "EventConsumerLagging",
                        "15m",
                        "Events reach notification.order-events 54s (p99) after their commit",
                        queue="notification.order-events",
                    ),
                ],
            },
            {  # A queue far behind.
                "interval": "1m",
                "input_series": [series(f"events_queue_depth{{{NOTIFICATIONS}}}", "1500x15")],
                "alert_rule_test": [
                    fires(
                        "EventQueueBacklog",
                        "12m",
                        "1500 messages are waiting in notification.order-events",
                        queue="notification.order-events",
                    ),
                ],
            },
            {  # A queue that grows by two messages a minute, and a dead-letter queue as deep: only the
                # first is a backlog.
                "interval": "1m",
                "input_series": [
                    series(f"events_queue_depth{{{NOTIFICATIONS}}}", "0+2x30"),
                    series(f"events_queue_depth{{{DEAD_LETTERS}}}", "0x30"),
                ],
                "alert_rule_test": [
                    quiet("EventQueueBacklog", "12m"),  # above 10 since minute 6
                    fires(
                        "EventQueueBacklog",
                        "20m",
                        "40 messages are waiting in notification.order-events",
                        queue="notification.order-events",
                    ),
                ],
            },
            {  # Sagas end, five a minute, and the notifier's count has stood still.
                "interval": "1m",
                "input_series": [
                    series('saga_orders{outcome="CONFIRMED", reason=""}', "0+5x30"),
                    series(f'events_consumed_total{{{NOTIFICATIONS}, outcome="handled"}}', "10x30"),
                ],
                "alert_rule_test": [
                    quiet("EventConsumerStalled", "4m"),
                    fires(
                        "EventConsumerStalled",
                        "25m",
                        "75 sagas ended in 15 minutes and the notifier consumed no order event",
                    ),
                ],
            },
            {  # Two messages set aside at minute 2.
                "interval": "1m",
                "input_series": [series(f"events_queue_depth{{{DEAD_LETTERS}}}", "0 0 2x10")],
                "alert_rule_test": [
                    quiet("EventsDeadLettered", "1m"),
                    fires(
                        "EventsDeadLettered",
                        "3m",
                        "2 messages are in the dead-letter queue notification.dead-letter",
                        queue="notification.dead-letter",
                    ),
                ],
            },
            {  # Three sends fail a minute while the oldest pending notification ages.
                "interval": "1m",
                "input_series": [
                    series("notification_send_failures_total", "0+3x30"),
                    series("notification_pending_oldest_age_seconds", "0+60x30"),
                ],
                "alert_rule_test": [
                    quiet("NotificationSendsFailing", "8m"),
                    fires(
                        "NotificationSendsFailing",
                        "15m",
                        "15 notification sends failed in the last 5 minutes",
                    ),
                    quiet("NotificationsDelayed", "14m"),  # over ten minutes old since minute 11
                    fires(
                        "NotificationsDelayed",
                        "20m",
                        "The oldest notification not sent yet has waited 20m 0s",
                    ),
                ],
            },
        ],
    }


@needs_promtool
def test_each_event_alert_fires_on_its_failure_and_none_on_a_healthy_system(tmp_path: Path) -> None:
    tests = event_rule_tests()
    tested = {check["alertname"] for case in tests["tests"][1:] for check in case["alert_rule_test"]}
    assert tested == set(event_rules()), set(event_rules()) - tested
    path = tmp_path / "event-alerts.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    assert_promtool_passes(path)


def test_the_event_alerts_query_metrics_the_code_defines() -> None:
    """The event and notification metrics are defined in Django apps, which this test does not load,
    so their names are read from the modules' text: each name an alert queries, less the suffix
    Prometheus adds to a counter or a histogram's buckets, is a string literal there."""
    from orchestrator.metrics import ORDERS

    sources = [
        REPO_ROOT / "chassis" / "events" / "metrics.py",
        REPO_ROOT / "chassis" / "events" / "publisher.py",
        REPO_ROOT / "chassis" / "events" / "consumer.py",
        REPO_ROOT / "notification_svc" / "notifications" / "metrics.py",
    ]
    defined = set(re.findall(r'"((?:events|notification)_\w+)"', "".join(p.read_text() for p in sources)))
    expressions = [rule["expr"] for rule in event_rules().values()]
    queried = {name for expr in expressions for name in re.findall(r"\b(?:events|notification)_\w+", expr)}
    families = {re.sub(r"_(total|bucket)$", "", name) for name in queried}
    assert len(families) == 7, families
    assert families <= defined, families - defined
    assert any(re.search(rf"\b{ORDERS}\[", expr) for expr in expressions)


def test_the_dashboard_is_one_grid_of_uniquely_numbered_panels() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells = [
        (x, y)
        for panel in panels
        for x in range(panel["gridPos"]["x"], panel["gridPos"]["x"] + panel["gridPos"]["w"])
        for y in range(panel["gridPos"]["y"], panel["gridPos"]["y"] + panel["gridPos"]["h"])
    ]
    assert len(set(cells)) == len(cells), "panels overlap"
    assert all(0 <= x < 24 for x, _ in cells)

"""Metrics on real parts: the real Prometheus server scrapes a real stack with the project's scrape
configuration and rules (infra/deploy/prometheus); orders of every outcome show up in the saga's metrics
exactly as placed; every Grafana panel queries a metric that is really there."""

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.monitoring import prometheus_binary, prometheus_server
from infra.stack import ManagedProcess, free_ports
from saga_contract import AUDIT_SCHEDULE_ID
from tests.support.api import unique
from tests.support.schedules import run_once

pytestmark = pytest.mark.any_database

DASHBOARD = Path(__file__).resolve().parents[2] / "infra" / "deploy" / "grafana" / "saga-orders.json"
PROMQL_WORDS = {"sum", "by", "rate", "max", "histogram_quantile", "le", "increase", "clamp_min", "or"}


@pytest.fixture(scope="module")
def prometheus(stack) -> Iterator[str]:
    if prometheus_binary() is None:
        pytest.skip("prometheus is not installed (Debian: apt-get install prometheus; .ci/run installs it)")
    config = dataclasses.replace(stack.config, prometheus_port=free_ports(1)[0])
    server: ManagedProcess = prometheus_server(config)
    server.start()
    try:
        server.wait_ready(60)
        yield f"http://127.0.0.1:{config.prometheus_port}"
    finally:
        server.stop()


def query(prometheus: str, promql: str) -> dict[tuple, float]:
    """An instant query's vector, by its labels (as sorted tuples)."""
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert answer["status"] == "success", answer
    return {
        tuple(sorted(item["metric"].items())): float(item["value"][1]) for item in answer["data"]["result"]
    }


def scraped_after(prometheus: str, moment: float, timeout: float = 30.0) -> None:
    """Wait until every target has been scraped since `moment` (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        if len(targets) == 6 and all(  # the five services and the worker
            t["health"] == "up" and _epoch(t["lastScrape"]) > moment for t in targets
        ):
            return
        time.sleep(0.5)
    raise AssertionError(f"targets not all scraped since {moment}: {targets}")


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", stamp.replace("Z", "+00:00"))).timestamp()


def outcomes(prometheus: str) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["outcome"], dict(labels).get("reason", "")): value  # an empty label is no label
        for labels, value in query(prometheus, "sum by (outcome, reason) (saga_orders)").items()
    }


def test_orders_of_every_outcome_are_counted_as_placed(api, stack, prometheus):
    scraped_after(prometheus, time.time())
    before = outcomes(prometheus)
    compensations_before = query(prometheus, "sum by (step) (saga_compensations)")
    posts_before = query(
        prometheus,
        'sum(django_http_requests_total_by_view_transport_method_total{service="order_svc",view="orders",method="POST"})',
    )

    sku = api.create_product(price_cents=500, on_hand=3)["sku"]
    rich = api.create_account(balance_cents=100_000)["customer_id"]
    poor = api.create_account(balance_cents=100)["customer_id"]
    placed = [
        api.place_order(rich, {sku: 1}),  # CONFIRMED
        api.place_order(rich, {sku: 1}),  # CONFIRMED
        api.place_order(rich, {sku: 5}),  # CANCELLED out_of_stock (1 left)
        api.place_order(poor, {sku: 1}),  # CANCELLED payment_declined
        api.place_order(rich, {unique("GHOST").upper(): 1}),  # CANCELLED unknown_sku
    ]
    finals = [api.wait_for_final(order["id"], timeout=60) for order in placed]
    assert [(o["status"], o["cancellation_reason"]) for o in finals] == [
        ("CONFIRMED", None),
        ("CONFIRMED", None),
        ("CANCELLED", "out_of_stock"),
        ("CANCELLED", "payment_declined"),
        ("CANCELLED", "unknown_sku"),
    ]
    expected = {
        ("CONFIRMED", ""): 2,
        ("CANCELLED", "out_of_stock"): 1,
        ("CANCELLED", "payment_declined"): 1,
        ("CANCELLED", "unknown_sku"): 1,
    }

    def counted() -> dict[tuple[str, str], float]:
        after = outcomes(prometheus)
        return {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}

    # An order is final at its saga's last step; the workflow counts it one task later, so a scrape
    # taken in between shows one fewer. Scrapes until the count is whole (bounded); too many never is.
    deadline = time.monotonic() + 30
    while (delta := counted()) != expected and time.monotonic() < deadline:
        scraped_after(prometheus, time.time())
    assert delta == expected
    compensations = query(prometheus, "sum by (step) (saga_compensations)")
    assert {
        dict(labels)["step"]: value - compensations_before.get(labels, 0)
        for labels, value in compensations.items()
    } == {"reserve_stock": 3, "authorize_payment": 1}  # a failed reserve is undone too; declined undoes both
    posts = query(
        prometheus,
        'sum(django_http_requests_total_by_view_transport_method_total{service="order_svc",view="orders",method="POST"})',
    )
    assert sum(posts.values()) - sum(posts_before.values()) == 5
    durations = query(prometheus, "sum by (outcome) (saga_duration_count)")
    assert {dict(labels)["outcome"] for labels in durations} >= {"CONFIRMED", "CANCELLED"}
    assert query(prometheus, "max(saga_outbox_waiting)") == {(): 0.0}
    assert query(prometheus, "max(saga_orders_pending)") == {(): 0.0}
    breakers = query(prometheus, "max by (service) (saga_breaker_open)")
    assert {dict(labels)["service"]: value for labels, value in breakers.items()} == {
        "inventory_svc": 0,
        "payment_svc": 0,
        "order_svc": 0,
    }


def _quiet(rule: str) -> set[str]:
    """The states that count as quiet. Three of the five orders this module places end compensated,
    and where the session's earlier tests made the compensation counters' series exist already,
    Prometheus counts those three in the last 15 minutes: SagaCompensationRateHigh may then be pending
    (true, not yet for its 10 minutes), never firing."""
    return {"inactive", "pending"} if rule == "SagaCompensationRateHigh" else {"inactive"}


def test_the_alert_rules_are_loaded_and_quiet_after_a_clean_audit(stack, prometheus):
    _, _, audit = run_once(stack, AUDIT_SCHEDULE_ID)  # the test stack's schedules are paused
    assert audit["ok"], audit
    scraped_after(prometheus, time.time())
    deadline = time.monotonic() + 30
    while True:  # the rules are evaluated every 5 s, after the scrape that saw the audit
        groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
        quiet = all(
            rule["health"] == "ok" and rule["state"] in _quiet(rule["name"]) for rule in rules.values()
        )
        if quiet or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(rules) == {
        "SagaStuck",
        "SagaCompensationRateHigh",
        "SagaCompensationRetrying",
        "CircuitBreakerOpen",
        "OutboxBacklog",
        "ServiceErrorRate",
        "AuditViolations",
        "AuditNotCleanLately",
        "EventOutboxBacklog",
        "EventPublishSlow",
        "EventConsumerLagging",
        "EventQueueBacklog",
        "EventConsumerStalled",
        "EventsDeadLettered",
        "NotificationSendsFailing",
        "NotificationsDelayed",
    }
    assert quiet, {
        name: (rule["state"], rule["health"], rule.get("lastError"), rule.get("alerts"))
        for name, rule in rules.items()
        if rule["state"] not in _quiet(name) or rule["health"] != "ok"
    }


def test_every_dashboard_panel_queries_metrics_the_system_exports(stack, prometheus):
    scraped_after(prometheus, time.time())
    exported = set(httpx.get(f"{prometheus}/api/v1/label/__name__/values", timeout=10).json()["data"])
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expression = re.sub(
                r'\{[^}]*\}|\[[^\]]*\]|"[^"]*"|\([^()]*?\bby\b|\d+(\.\d+)?', " ", target["expr"]
            )
            metrics = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expression)) - PROMQL_WORDS
            labels = set(re.findall(r"by \(([^)]*)\)", target["expr"]))
            metrics -= {name.strip() for group in labels for name in group.split(",")}
            assert metrics, f"{panel['title']}: the expression names no metric"
            assert metrics <= exported, f"{panel['title']}: {sorted(metrics - exported)} not exported"
            answer = httpx.get(
                f"{prometheus}/api/v1/query", params={"query": target["expr"]}, timeout=10
            ).json()
            assert answer["status"] == "success", (panel["title"], answer)

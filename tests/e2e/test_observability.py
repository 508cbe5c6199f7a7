"""Watching it run, on real parts: one trace per order across every process, its id in the
workflow's memo and in every log line about the order; the workflow's span lasts as long as the saga
and holds its steps; probes make no spans."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from observability.logs import SCHEMA, parse_line
from observability.tracing import order_traces, read_spans, span_tree
from tests.e2e.test_order_saga import describe_workflow

pytestmark = pytest.mark.any_database

SAGACTL = Path(sys.executable).parent / "sagactl"
PROCESSES = {"order_svc", "relay", "worker", "inventory_svc", "payment_svc"}
# The order's trace goes on through the broker: its events' publishers and the notifier that mails it.
TRACED = PROCESSES | {"order-publisher", "payment-publisher", "notifier"}


def order_trace(traces_dir: Path, order_id: str, *, until: str, timeout: float = 60.0) -> list[dict]:
    """The order's placement trace once a span named `until` is in it and no span has come for 3 s
    (six export intervals, on a host that may be busy): every process has written what it had. What
    it holds at `timeout` otherwise, for the assertions to name what is missing."""
    deadline = time.monotonic() + timeout
    seen, quiet_since = -1, time.monotonic()
    while True:
        traces = order_traces(read_spans(traces_dir), order_id)
        placement = max(traces, key=len, default=[])
        if len(placement) != seen:
            seen, quiet_since = len(placement), time.monotonic()
        done = any(span["name"] == until for span in placement) and time.monotonic() - quiet_since >= 3
        if done or time.monotonic() > deadline:
            return placement
        time.sleep(0.25)


def test_an_order_is_one_trace_from_its_post_through_the_relay_worker_and_every_service(api, stack):
    sku = api.create_product(price_cents=700, on_hand=3)["sku"]
    customer = api.create_account(balance_cents=10_000)["customer_id"]
    order = api.wait_for_final(api.place_order(customer, {sku: 1})["id"], timeout=60)
    assert order["status"] == "CONFIRMED"

    # The mail is the last thing the order's trace does, after the workflow's span has ended.
    spans = order_trace(stack.config.var_dir / "traces", order["id"], until="notification: send email")
    tree = [(depth, span["service"], span["name"]) for depth, span in span_tree(spans)]
    assert tree[0] == (0, "order_svc", "POST api/v1/orders")
    # The worker's first step fetches its token from identity_svc, inside the trace of the order at hand:
    # the session's first order, or another's.
    fetched = [(service, name) for _, service, name in tree if service == "identity_svc"]
    assert fetched in ([], [("identity_svc", "POST oauth/token")])
    assert {service for _, service, _ in tree} - {"identity_svc"} == TRACED
    names = [name for _, _, name in tree]
    for expected in (
        "outbox relay: start saga",
        "StartWorkflow:OrderSaga",
        "RunWorkflow:OrderSaga",
        "StartActivity:reserve_stock",
        "RunActivity:reserve_stock",
        "POST internal/v1/reservations",
        "POST internal/v1/payments/authorize",
        "POST internal/v1/payments/capture",
        "POST internal/v1/orders/<uuid:order_id>/confirm",
        "publish order.placed",
        "publish payment.captured",
        "publish order.confirmed",
        "receive order.confirmed",
        "notification: send email",
    ):
        assert expected in names, f"{expected} missing from {names}"
    # Each service's span sits under the worker's HTTP client span of the activity that called it.
    by_id = {span["span_id"]: span for span in spans}
    for span in spans:
        if span["service"] in {"inventory_svc", "payment_svc"} or span["name"].startswith(
            "POST internal/v1/orders"
        ):
            client = by_id[span["parent_id"]]
            assert (client["service"], client["kind"]) == ("worker", "CLIENT")
            assert by_id[client["parent_id"]]["name"].startswith("RunActivity:")
    trace_id = spans[0]["trace_id"]
    assert {span["trace_id"] for span in spans} == {trace_id}

    # The workflow continues the relay's start, and each step's run sits under the workflow's
    # scheduling of it; the workflow's span lasts from before the first step to after the last.
    (workflow,) = [span for span in spans if span["name"] == "RunWorkflow:OrderSaga"]
    assert (by_id[workflow["parent_id"]]["service"], by_id[workflow["parent_id"]]["name"]) == (
        "relay",
        "StartWorkflow:OrderSaga",
    )
    steps = [span for span in spans if span["name"].startswith("RunActivity:")]
    assert list(dict.fromkeys(step["name"].removeprefix("RunActivity:") for step in steps)) == [
        "reserve_stock",
        "authorize_payment",
        "capture_payment",
        "commit_stock",
        "confirm_order",
    ]
    for step in steps:
        scheduled = by_id[step["parent_id"]]
        assert scheduled["name"] == step["name"].replace("RunActivity:", "StartActivity:")
        assert scheduled["parent_id"] == workflow["span_id"]
    assert workflow["start_ns"] <= min(step["start_ns"] for step in steps)
    assert workflow["end_ns"] >= max(step["end_ns"] for step in steps)
    assert workflow["end_ns"] - workflow["start_ns"] >= sum(
        step["end_ns"] - step["start_ns"] for step in steps
    )

    memo = describe_workflow(stack, order["workflow_id"])["workflowExecutionInfo"]["memo"]["fields"]
    assert memo["trace_id"] == trace_id, memo  # the CLI shows the memo's payloads decoded

    lines = [
        line
        for log in ("order_svc", "relay", "worker", "inventory_svc", "payment_svc")
        for line in map(parse_line, (stack.config.log_dir / f"{log}.log").read_text().splitlines())
        if line is not None and line["order_id"] == order["id"]
    ]
    assert {line["service"] for line in lines} == PROCESSES
    assert all(list(line)[: len(SCHEMA)] == list(SCHEMA) for line in lines)
    placement_lines = [
        line for line in lines if line["message"] in ("POST /api/v1/orders 202", "saga started")
    ]
    assert len(placement_lines) == 2
    assert {line["trace_id"] for line in placement_lines} == {trace_id}
    worker_lines = [line for line in lines if line["service"] == "worker" and line.get("activity")]
    assert worker_lines
    assert {line["trace_id"] for line in worker_lines} == {trace_id}

    shown = subprocess.run(
        [str(SAGACTL), "trace", order["id"]],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"SAGA_VAR_DIR": str(stack.config.var_dir)},
    )
    assert shown.returncode == 0, shown.stderr
    assert f"trace {trace_id}: {len(spans)} spans" in shown.stdout
    assert "POST /internal/v1/payments/capture" in shown.stdout  # the client span, named with its path
    (workflow_line,) = [line for line in shown.stdout.splitlines() if "RunWorkflow:OrderSaga" in line]
    _start, _ms, duration, _unit, *_ = workflow_line.split()
    assert float(duration) > 0, workflow_line  # a real duration now, where it used to be 0.0 ms
    assert "not written yet" not in shown.stdout


def test_probes_and_metrics_make_no_spans(stack):
    traces_dir = stack.config.var_dir / "traces"
    for _ in range(3):
        for path in ("/healthz", "/readyz", "/metrics"):
            assert httpx.get(f"{stack.order_url}{path}", timeout=10).status_code == 200
    time.sleep(1.5)  # two export intervals
    names = {span["name"] for span in read_spans(traces_dir)}
    assert not any(probe in name for name in names for probe in ("healthz", "readyz", "metrics")), names


def test_trace_of_an_order_nobody_placed_says_so(stack):
    shown = subprocess.run(
        [str(SAGACTL), "trace", "3f0a4e1c-9b2d-4c6e-8f7a-1d2c3b4a5e6f"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"SAGA_VAR_DIR": str(stack.config.var_dir)},
    )
    assert shown.returncode == 1
    assert "no span" in shown.stderr
    assert "names order 3f0a4e1c" in shown.stderr

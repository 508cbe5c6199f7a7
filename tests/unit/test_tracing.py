"""Spans written as JSON lines in the embedded default, read back as an order's trace tree, and
shown by `sagactl trace` (with a stand-in for a workflow span that is not written yet)."""

import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from rich.console import Console
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider

import observability.tracing
from infra.trace_view import order_trace_view, with_unwritten_workflows
from observability.tracing import (
    TRACE_FILES_KEPT,
    JsonLinesSpanExporter,
    TracingSettings,
    order_traces,
    read_spans,
    span_tree,
    temporal_tracing_plugins,
    tracer_provider,
    tracing_settings,
)

ORDER = "0b6f8a52-5d1e-4c1b-9a5e-8c3f2d7e4a11"
SAGA = f"order-{ORDER}"
IN_WORKFLOW = {"temporalWorkflowID": SAGA, "temporalRunID": "run-1"}
"""The attributes of every span the tracing plugin makes inside the workflow."""


def tracer(traces_dir: Path, service: str):
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(traces_dir, service)))
    return provider.get_tracer(__name__)


def test_an_orders_spans_from_several_processes_read_back_as_one_tree(tmp_path: Path) -> None:
    api, worker = tracer(tmp_path, "order_svc"), tracer(tmp_path, "worker")
    with (
        api.start_as_current_span("POST api/v1/orders", attributes={"saga.order_id": ORDER}),
        worker.start_as_current_span("RunWorkflow:OrderSaga", attributes=IN_WORKFLOW),
    ):
        with worker.start_as_current_span("RunActivity:reserve_stock") as step:
            step.set_status(Status(StatusCode.ERROR, "out_of_stock"))
            with worker.start_as_current_span("POST"):
                pass
        with worker.start_as_current_span("RunActivity:cancel_order"):
            pass
    with api.start_as_current_span("GET api/v1/orders/{id}", attributes={"saga.order_id": ORDER}):
        pass
    with api.start_as_current_span("GET api/v1/orders/{id}", attributes={"saga.order_id": "someone-else"}):
        pass

    spans = list(read_spans(tmp_path))
    traces = order_traces(spans, ORDER)

    assert len(spans) == 7
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == [
        "order_svc",
        "worker",
    ]
    assert [len(trace) for trace in traces] == [5, 1]
    tree = [(depth, span["service"], span["name"], span["status"]) for depth, span in span_tree(traces[0])]
    assert tree == [
        (0, "order_svc", "POST api/v1/orders", "UNSET"),
        (1, "worker", "RunWorkflow:OrderSaga", "UNSET"),
        (2, "worker", "RunActivity:reserve_stock", "ERROR"),
        (3, "worker", "POST", "UNSET"),
        (2, "worker", "RunActivity:cancel_order", "UNSET"),
    ]
    assert span_tree(traces[0])[2][1]["error"] == "out_of_stock"
    assert traces[1][0]["name"] == "GET api/v1/orders/{id}"


def test_a_span_whose_parent_is_missing_is_a_root_and_a_cut_line_is_skipped(tmp_path: Path) -> None:
    worker = tracer(tmp_path, "worker")
    with worker.start_as_current_span("parent, never exported"):
        pass
    (path,) = tmp_path.iterdir()
    parent_line = path.read_text()
    path.write_text("")
    with (
        worker.start_as_current_span("outer"),
        worker.start_as_current_span("inner", attributes={"temporalWorkflowID": f"order-{ORDER}"}),
    ):
        pass
    lines = path.read_text().splitlines()
    inner = lines[0]
    path.write_text(inner + "\n" + '{"trace_id": "cut sho')  # the outer span lost, a line cut short

    (trace,) = order_traces(read_spans(tmp_path), ORDER)
    assert [(depth, span["name"]) for depth, span in span_tree(trace)] == [(0, "inner")]
    assert "parent, never exported" in parent_line


def test_with_an_otlp_endpoint_spans_go_to_the_collector_and_not_to_files(tmp_path: Path) -> None:
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
        provider = tracer_provider("payment_svc", tracing_settings(environ, tmp_path))
        with provider.get_tracer(__name__).start_as_current_span("POST internal/v1/payments/capture"):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
    finally:
        server.shutdown()

    ((path, body),) = received
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    spans = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert (path, service, spans) == ("/v1/traces", "payment_svc", ["POST internal/v1/payments/capture"])
    assert list(tmp_path.iterdir()) == []


def test_a_full_file_is_kept_once_as_old_and_begun_anew(tmp_path: Path) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "worker"}))
    provider.add_span_processor(
        SimpleSpanProcessor(JsonLinesSpanExporter(tmp_path, "worker", max_bytes=1000))
    )
    for index in range(12):
        with provider.get_tracer(__name__).start_as_current_span(f"span {index}"):
            pass

    files = sorted(path.name.split(".", 1)[1] for path in tmp_path.iterdir())
    assert files == ["jsonl", "jsonl.old"]
    assert all(path.stat().st_size < 1000 + 600 for path in tmp_path.iterdir())
    names = [span["name"] for span in read_spans(tmp_path)]
    assert names == [f"span {index}" for index in range(12 - len(names), 12)]
    assert len(names) < 12


def test_the_folder_keeps_the_newest_files_within_its_budget_however_many_processes_came_and_went(
    tmp_path: Path,
) -> None:
    """Forty dead processes' files of 200 bytes each, oldest first: a process beginning its file
    keeps the newest TRACE_FILES_KEPT x 1000 bytes of them, and its own spans."""
    for pid in range(40):
        dead = tmp_path / f"payment_svc-{1000 + pid}.jsonl"
        dead.write_text("x" * 199 + "\n")
        os.utime(dead, (1_000_000 + pid, 1_000_000 + pid))
    provider = TracerProvider(resource=Resource.create({"service.name": "worker"}))
    provider.add_span_processor(
        SimpleSpanProcessor(JsonLinesSpanExporter(tmp_path, "worker", max_bytes=1000))
    )
    with provider.get_tracer(__name__).start_as_current_span("after the deaths"):
        pass

    kept = sorted(path.name for path in tmp_path.glob("payment_svc-*"))
    assert kept == [f"payment_svc-{1000 + pid}.jsonl" for pid in range(40 - len(kept), 40)]
    assert sum(path.stat().st_size for path in tmp_path.glob("payment_svc-*")) <= TRACE_FILES_KEPT * 1000
    assert len(kept) == TRACE_FILES_KEPT * 1000 // 200
    assert [span["name"] for span in read_spans(tmp_path)] == ["after the deaths"]


def test_the_file_cap_comes_from_the_environment_and_must_be_a_positive_size(tmp_path: Path) -> None:
    assert tracing_settings({}, tmp_path).max_file_bytes == 64 * 2**20
    assert tracing_settings({"SAGA_TRACES_MAX_BYTES": "4096"}, tmp_path).max_file_bytes == 4096
    for wrong in ("0", "-5", "4 MiB"):
        with pytest.raises(ValueError, match="SAGA_TRACES_MAX_BYTES"):
            tracing_settings({"SAGA_TRACES_MAX_BYTES": wrong}, tmp_path)


def test_the_workers_provider_is_replay_safe_and_the_others_are_the_sdks(tmp_path: Path) -> None:
    settings = TracingSettings(traces_dir=tmp_path)
    worker = tracer_provider("worker", settings, runs_workflows=True)
    api = tracer_provider("order_svc", settings)
    assert isinstance(worker, ReplaySafeTracerProvider)
    assert isinstance(api, TracerProvider)

    with worker.get_tracer(__name__).start_as_current_span("RunActivity:reserve_stock"):
        pass
    assert worker.force_flush(10_000)
    worker.shutdown()
    api.shutdown()

    ((service, name),) = [(span["service"], span["name"]) for span in read_spans(tmp_path)]
    assert (service, name) == ("worker", "RunActivity:reserve_stock")


def test_temporal_is_traced_only_once_tracing_has_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability.tracing, "_provider", None)
    assert temporal_tracing_plugins() == []  # a worker could not start with the plugin without it

    monkeypatch.setattr(observability.tracing, "_provider", TracerProvider())
    (plugin,) = temporal_tracing_plugins()
    assert plugin.name() == "OpenTelemetryPlugin"


def test_a_running_workflows_span_is_shown_by_a_stand_in_until_it_is_written(tmp_path: Path) -> None:
    """The plugin writes the workflow's span when the workflow ends; the steps it scheduled are
    written before. Until then the view puts a stand-in where the workflow's span will be."""
    relay, worker = tracer(tmp_path, "relay"), tracer(tmp_path, "worker")
    with relay.start_as_current_span("StartWorkflow:OrderSaga", attributes={"temporalWorkflowID": SAGA}):
        workflow = worker.start_span("RunWorkflow:OrderSaga", attributes=IN_WORKFLOW)
    with trace.use_span(workflow, end_on_exit=False):
        with (
            worker.start_as_current_span("StartActivity:reserve_stock", attributes=IN_WORKFLOW),
            worker.start_as_current_span("RunActivity:reserve_stock"),
        ):
            pass
        with worker.start_as_current_span("StartActivity:authorize_payment", attributes=IN_WORKFLOW):
            pass

    (running,) = order_traces(read_spans(tmp_path), ORDER)
    shown = [
        (depth, span["name"], span["end_ns"] is None)
        for depth, span in span_tree(with_unwritten_workflows(running))
    ]
    assert shown == [
        (0, "StartWorkflow:OrderSaga", False),
        (1, "RunWorkflow:OrderSaga", True),
        (2, "StartActivity:reserve_stock", False),
        (3, "RunActivity:reserve_stock", False),
        (2, "StartActivity:authorize_payment", False),
    ]
    assert printed(tmp_path).count("not written yet") == 1

    workflow.end()
    (ended,) = order_traces(read_spans(tmp_path), ORDER)
    assert with_unwritten_workflows(ended) == ended
    (written,) = [span for span in ended if span["name"] == "RunWorkflow:OrderSaga"]
    assert written["end_ns"] >= max(span["end_ns"] for span in ended if span is not written)
    assert "not written yet" not in printed(tmp_path)


def printed(traces_dir: Path) -> str:
    tree, _ = order_trace_view(traces_dir, ORDER)
    console = Console(record=True, width=200)
    console.print(tree)
    return console.export_text()

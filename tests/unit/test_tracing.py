"""Spans written as JSON lines in the embedded default, and read back as an order's trace tree."""

from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from observability.tracing import JsonLinesSpanExporter, order_traces, read_spans, span_tree

ORDER = "0b6f8a52-5d1e-4c1b-9a5e-8c3f2d7e4a11"


def tracer(traces_dir: Path, service: str):
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(traces_dir, service)))
    return provider.get_tracer(__name__)


def test_an_orders_spans_from_several_processes_read_back_as_one_tree(tmp_path: Path) -> None:
    api, worker = tracer(tmp_path, "order_svc"), tracer(tmp_path, "worker")
    with api.start_as_current_span("POST api/v1/orders", attributes={"saga.order_id": ORDER}):
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

    assert len(spans) == 6 and sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == ["order_svc", "worker"]
    assert [len(trace) for trace in traces] == [4, 1]
    tree = [(depth, span["service"], span["name"], span["status"]) for depth, span in span_tree(traces[0])]
    assert tree == [
        (0, "order_svc", "POST api/v1/orders", "UNSET"),
        (1, "worker", "RunActivity:reserve_stock", "ERROR"),
        (2, "worker", "POST", "UNSET"),
        (1, "worker", "RunActivity:cancel_order", "UNSET"),
    ]
    assert span_tree(traces[0])[1][1]["error"] == "out_of_stock"
    assert traces[1][0]["name"] == "GET api/v1/orders/{id}"


def test_a_span_whose_parent_is_missing_is_a_root_and_a_cut_line_is_skipped(tmp_path: Path) -> None:
    worker = tracer(tmp_path, "worker")
    with worker.start_as_current_span("parent, never exported"):
        pass
    (path,) = tmp_path.iterdir()
    parent_line = path.read_text()
    path.write_text("")
    with worker.start_as_current_span("outer"):
        with worker.start_as_current_span("inner", attributes={"temporalWorkflowID": f"order-{ORDER}"}):
            pass
    lines = path.read_text().splitlines()
    inner = lines[0]
    path.write_text(inner + "\n" + '{"trace_id": "cut sho')  # the outer span lost, a line cut short

    (trace,) = order_traces(read_spans(tmp_path), ORDER)
    assert [(depth, span["name"]) for depth, span in span_tree(trace)] == [(0, "inner")]
    assert "parent, never exported" in parent_line

"""The one JSON log line schema: every process writes it through observability.logs.JsonFormatter."""

import json
import logging
import sys

from opentelemetry.sdk.trace import TracerProvider

from observability.logs import SCHEMA, JsonFormatter, bind, log_context, parse_line

ORDER = "7f1c2a4e-0d7b-4a53-9b7e-2f5d8c1e6a90"


def record(message: str = "hello %s", args: tuple = ("x",), **extra: object) -> logging.LogRecord:
    log_record = logging.LogRecord("orchestrator", logging.INFO, __file__, 1, message, args, None)
    log_record.__dict__.update(extra)
    return log_record


def line_of(log_record: logging.LogRecord, service: str = "worker") -> dict:
    return json.loads(JsonFormatter(service).format(log_record))


def test_every_line_has_the_schema_in_order_with_nulls_where_unknown() -> None:
    line = line_of(record())

    assert list(line)[: len(SCHEMA)] == list(SCHEMA)
    assert (line["level"], line["logger"], line["message"], line["service"]) == (
        "INFO",
        "orchestrator",
        "hello x",
        "worker",
    )
    assert all(line[key] is None for key in ("order_id", "workflow_id", "trace_id", "span_id"))
    assert line["time"].endswith("Z")
    assert "activity" not in line


def test_an_activity_line_names_its_activity_attempt_workflow_and_order() -> None:
    line = line_of(
        record(
            temporal_activity={
                "workflow_id": f"order-{ORDER}",
                "activity_type": "reserve_stock",
                "attempt": 2,
            }
        )
    )

    assert (line["order_id"], line["workflow_id"]) == (ORDER, f"order-{ORDER}")
    assert (line["activity"], line["attempt"]) == ("reserve_stock", 2)


def test_bound_ids_and_fields_join_the_line_and_the_current_span() -> None:
    tracer = TracerProvider().get_tracer(__name__)
    with tracer.start_as_current_span("request") as span, log_context(workflow_id="order-42"):
        bind(order_id="42")
        line = line_of(record(fields={"status": 202}), service="order_svc")
        context = span.get_span_context()

    assert (line["order_id"], line["workflow_id"], line["status"]) == ("42", "order-42", 202)
    assert (line["trace_id"], line["span_id"]) == (f"{context.trace_id:032x}", f"{context.span_id:016x}")
    assert span.attributes["saga.order_id"] == "42"
    assert span.attributes["saga.workflow_id"] == "order-42"


def test_an_exception_is_in_error_and_lines_read_back() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failing = record("failed", (), exc_info=sys.exc_info())
    raw = JsonFormatter("relay").format(failing)

    line = parse_line(raw)
    assert line is not None
    assert "ValueError: boom" in line["error"]
    assert line["service"] == "relay"
    assert parse_line("gunicorn: booting worker") is None
    assert parse_line('{"no": "message"}') is None

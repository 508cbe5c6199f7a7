"""One JSON object per log line, the same in every process of the system.

Every line has `time`, `level`, `logger`, `message`, `service`, `order_id`, `workflow_id`,
`trace_id` and `span_id` (null where unknown), `activity` and `attempt` inside an activity, then
the record's own `fields` and, for an exception, `error`. `log_context` binds ids for the current
request, thread or task; they are also set on the current span, so a trace can be found by order.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, TextIO

from opentelemetry import trace

from saga_contract import order_id_of

SCHEMA = (
    "time",
    "level",
    "logger",
    "message",
    "service",
    "order_id",
    "workflow_id",
    "trace_id",
    "span_id",
)
"""The keys every line has, in this order."""

# Each binding replaces the mapping, so the shared empty default is never changed.
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "log_context", default=MappingProxyType({})
)


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Attach fields (None values are skipped) to every log line inside the block."""
    bound = {k: v for k, v in fields.items() if v}
    token = _context.set({**_context.get(), **bound})
    _tag_span(bound)
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: str | None) -> None:
    """Add fields to the current context (used once a request's body names its order)."""
    bound = {k: v for k, v in fields.items() if v}
    _context.set({**_context.get(), **bound})
    _tag_span(bound)


def _tag_span(fields: dict[str, str]) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        for key in ("order_id", "workflow_id"):
            if key in fields:
                span.set_attribute(f"saga.{key}", fields[key])


class JsonFormatter(logging.Formatter):
    """The one formatter. Temporal's loggers attach the workflow or activity they run in."""

    def __init__(self, service: str = "") -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        context = _context.get()
        temporal: dict[str, Any] = (
            getattr(record, "temporal_activity", None) or getattr(record, "temporal_workflow", None) or {}
        )
        workflow_id = (
            getattr(record, "workflow_id", None) or context.get("workflow_id") or temporal.get("workflow_id")
        )
        order_id = (
            getattr(record, "order_id", None)
            or context.get("order_id")
            or (order_id_of(workflow_id) if workflow_id else None)
        )
        span = trace.get_current_span().get_span_context()
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "order_id": order_id,
            "workflow_id": workflow_id,
            "trace_id": f"{span.trace_id:032x}" if span.is_valid else None,
            "span_id": f"{span.span_id:016x}" if span.is_valid else None,
        }
        if "activity_type" in temporal:
            line["activity"] = temporal["activity_type"]
            line["attempt"] = temporal.get("attempt")
        for key, value in {**context, **getattr(record, "fields", {})}.items():
            line.setdefault(key, value)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def logging_config(service: str, level: str = "INFO") -> dict[str, Any]:
    """A LOGGING dict (Django settings): JSON lines on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {"django.request": {"level": "ERROR"}, "django.server": {"level": "WARNING"}},
    }


def configure_logging(service: str, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """JSON lines on `stream` (stderr) for a process that is not a Django service."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def name_service(service: str) -> None:
    """Name the process in its lines from now on (the relay runs under order_svc's settings)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonFormatter):
            handler.formatter.service = service


def parse_line(raw: str) -> dict[str, Any] | None:
    """A log line read back: the object, or None for a line that is not one of ours."""
    if not raw.startswith("{"):
        return None
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    return line if isinstance(line, dict) and "message" in line and "logger" in line else None

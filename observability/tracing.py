"""Tracing with OpenTelemetry: one tracer provider per process, started after any fork.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, spans go over
OTLP/HTTP to that collector (Jaeger, Tempo, any OpenTelemetry Collector); the SDK's other OTEL_*
settings (sampler, headers) apply as usual. Without it, each process appends its spans as JSON
lines to `<traces_dir>/<service>-<pid>.jsonl`, which `read_spans` reads back for `sagactl trace`.

Temporal is traced by the SDK's OpenTelemetryPlugin (`temporal_tracing_plugins`) on every client
and worker of the product (the bench's floor alone runs bare, on purpose). The worker's provider is
the plugin's replay-safe one; the other processes keep the plain SDK provider and never load the
Temporal SDK for tracing.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanContext

from saga_contract import workflow_id

if TYPE_CHECKING:
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, ReplaySafeTracerProvider

_provider: TracerProvider | ReplaySafeTracerProvider | None = None


@dataclass(frozen=True)
class TracingSettings:
    """Where a process's spans go: to an OTLP collector when `otlp_endpoint` is set, else as JSON
    lines into `traces_dir`; nowhere when `disabled`."""

    traces_dir: Path
    otlp_endpoint: str | None = None
    disabled: bool = False
    max_file_bytes: int = 64 * 2**20
    """A process's trace file is begun anew at this size; the folder keeps TRACE_FILES_KEPT times it."""


def tracing_settings(environ: Mapping[str, str], var_dir: Path) -> TracingSettings:
    """The tracing part of a process's configuration, from OpenTelemetry's own variables and
    SAGA_TRACES_DIR (else `<var_dir>/traces`) and SAGA_TRACES_MAX_BYTES (a file's size cap, default
    64 MiB): each process's config module calls it with its environment."""
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or None
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if endpoint is None and base:
        endpoint = base.rstrip("/") + "/v1/traces"  # the base URL, as the OTLP specification says
    return TracingSettings(
        traces_dir=Path(environ.get("SAGA_TRACES_DIR") or var_dir / "traces"),
        otlp_endpoint=endpoint,
        disabled=environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true",
        max_file_bytes=_positive_int(environ, "SAGA_TRACES_MAX_BYTES", TracingSettings.max_file_bytes),
    )


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{name} must be a positive whole number of bytes, not {raw!r}")
    return value


def start_tracing(
    service: str, settings: TracingSettings, *, runs_workflows: bool = False
) -> TracerProvider | ReplaySafeTracerProvider | None:
    """Install this process's tracer provider (once; call it after gunicorn forks, never before, and
    before a Temporal client connects). None when tracing is disabled (`OTEL_SDK_DISABLED=true`).
    `runs_workflows`: see `tracer_provider`."""
    global _provider
    if _provider is not None:
        return _provider
    if settings.disabled:
        return None
    _provider = tracer_provider(service, settings, runs_workflows=runs_workflows)
    trace.set_tracer_provider(_provider)
    return _provider


def tracer_provider(
    service: str, settings: TracingSettings, *, runs_workflows: bool = False
) -> TracerProvider | ReplaySafeTracerProvider:
    """A provider whose spans name `service` and go where `settings` say; batched, so a request
    never waits for its spans to be written.

    A process that `runs_workflows` gets the OpenTelemetryPlugin's replay-safe provider, the only one
    the plugin runs workflows under: it keeps a workflow's span ids deterministic and does not end a
    span again while the worker replays the workflow's history."""
    resource = Resource.create({SERVICE_NAME: service})
    provider: TracerProvider | ReplaySafeTracerProvider
    if runs_workflows:
        from temporalio.contrib.opentelemetry import create_tracer_provider

        provider = create_tracer_provider(resource=resource)
    else:
        provider = TracerProvider(resource=resource)
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: SpanExporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint)
    else:
        exporter = JsonLinesSpanExporter(settings.traces_dir, service, settings.max_file_bytes)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    return provider


def stop_tracing() -> None:
    """Export what is still buffered (a process about to leave through os._exit)."""
    if _provider is not None:
        _provider.shutdown()


def temporal_tracing_plugins() -> list[OpenTelemetryPlugin]:
    """The plugins every Temporal client and worker connects with: Temporal's OpenTelemetryPlugin,
    once this process's tracing has started, else none. A worker could not start with it without
    the replay-safe provider, and a process that does not trace has no context to carry.

    The plugin carries the trace context in Temporal's headers and, with its Temporal spans on,
    adds `StartWorkflow:<type>` (and the other client calls) where a client calls Temporal,
    `RunWorkflow:<type>` from the workflow's first task to its end (exported only then),
    `StartActivity:<name>` where the workflow schedules a step, and `RunActivity:<name>` around each
    attempt of the step."""
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

    return [OpenTelemetryPlugin(add_temporal_spans=True)]


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers, to store beside work that continues elsewhere."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


TRACE_FILES_KEPT = 8
"""The traces folder holds at most this many files' worth of spans (of `max_bytes` each)."""


class JsonLinesSpanExporter(SpanExporter):
    """Appends finished spans to one file per process, one JSON object per line. A file that
    reaches `max_bytes` is kept as `<name>.jsonl.old` (replacing the one before) and begun anew.

    The folder stays bounded however often processes die and start: when a file is begun (a new
    process, or a rotation), the oldest files of the folder are removed until what is left weighs at
    most TRACE_FILES_KEPT x `max_bytes`; the dead processes' files are the oldest. A removed file of a
    process still running is begun again at its next export."""

    def __init__(
        self, traces_dir: Path, service: str, max_bytes: int = TracingSettings.max_file_bytes
    ) -> None:
        self.traces_dir = traces_dir
        self.service = service
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(json.dumps(span_record(span)) + "\n" for span in spans)
        path = (
            self.traces_dir / f"{self.service}-{os.getpid()}.jsonl"
        )  # the pid of now: after a fork, a file of its own
        try:
            with self._lock:
                self.traces_dir.mkdir(parents=True, exist_ok=True)
                size = path.stat().st_size if path.exists() else None
                if size is not None and size >= self.max_bytes:
                    path.replace(path.with_name(path.name + ".old"))
                    size = None
                if size is None:
                    prune_traces(self.traces_dir, TRACE_FILES_KEPT * self.max_bytes)
                with open(path, "a", encoding="utf-8") as out:
                    out.write(lines)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


def prune_traces(traces_dir: Path, budget: int) -> None:
    """Remove the oldest trace files of `traces_dir` until the rest weigh at most `budget` bytes."""
    files = []
    for path in [*traces_dir.glob("*.jsonl.old"), *traces_dir.glob("*.jsonl")]:
        with contextlib.suppress(FileNotFoundError):  # another process's pruning got there first
            stat = path.stat()
            files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= budget:
            return
        path.unlink(missing_ok=True)
        total -= size


def span_record(span: ReadableSpan) -> dict[str, Any]:
    # Spans reach an exporter only once the SDK tracer has made them, and it always gives them a context.
    context = cast(SpanContext, span.get_span_context())
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "name": span.name,
        "service": span.resource.attributes.get(SERVICE_NAME, ""),
        "kind": span.kind.name,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "error": span.status.description,
        "attributes": dict(span.attributes or {}),
    }


def read_spans(traces_dir: Path) -> Iterator[dict[str, Any]]:
    """Every span the processes wrote under `traces_dir` (lines cut short by a kill are skipped)."""
    files = [*traces_dir.glob("*.jsonl.old"), *traces_dir.glob("*.jsonl")]
    for path in sorted(
        files, key=lambda file: (file.name.removesuffix(".old"), not file.name.endswith(".old"))
    ):
        with open(path, encoding="utf-8") as lines:
            for raw in lines:
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue


def order_traces(spans: Iterable[dict[str, Any]], order_id: str) -> list[list[dict[str, Any]]]:
    """The traces that touched `order_id` (its placement first), each as its spans by start time."""
    by_trace: dict[str, list[dict[str, Any]]] = {}
    touched: set[str] = set()
    saga = workflow_id(order_id)
    for span in spans:
        by_trace.setdefault(span["trace_id"], []).append(span)
        attributes = span.get("attributes") or {}
        if attributes.get("saga.order_id") == order_id or attributes.get("temporalWorkflowID") == saga:
            touched.add(span["trace_id"])
    traces = [sorted(by_trace[trace_id], key=lambda span: span["start_ns"]) for trace_id in touched]
    return sorted(traces, key=lambda spans: spans[0]["start_ns"])


def span_tree(spans: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(depth, span) in the order a tree is printed: each span under its parent, by start time. A span
    whose parent was not exported (yet) is shown as a root."""
    ids = {span["span_id"] for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        parent = span["parent_id"] if span["parent_id"] in ids else None
        children.setdefault(parent, []).append(span)
    ordered: list[tuple[int, dict[str, Any]]] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s["start_ns"]):
            ordered.append((depth, span))
            walk(span["span_id"], depth + 1)

    walk(None, 0)
    return ordered

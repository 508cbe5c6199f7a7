"""`sagactl trace ORDER_ID`: where the time of one order went, from the spans the processes wrote
under `<var>/traces` (the embedded default; with an OTLP collector, look there instead).

The order's trace is printed as a tree: each span's start after the trace began, its duration, its
service and status, its name indented under its parent. Other requests that named the order (reads
of its progress, a cancel) are traces of their own, listed after it in one line each.

The workflow's span (`RunWorkflow:OrderSaga`) lasts from the workflow's first task to its end, and
Temporal's tracing plugin writes it only then, while the steps it scheduled are written as they run.
Until the workflow ends, the tree shows a stand-in for it where it will be, so a running saga's
steps still sit under their workflow.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from observability.tracing import order_traces, read_spans, span_tree

STATUS_STYLES = {"ERROR": "red", "OK": "green"}
WORKFLOW_STARTS = ("StartWorkflow:", "SignalWithStartWorkflow:", "StartUpdateWithStartWorkflow:")
"""The names of the client spans whose context a workflow's own span continues."""
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def order_trace_view(traces_dir: Path, order_id: str) -> tuple[Table | None, list[str]]:
    """The tree of the order's first trace (None when no span names the order), and a line for
    each other trace that touched it."""
    traces = order_traces(read_spans(traces_dir), order_id)
    if not traces:
        return None, []
    first, *others = sorted(traces, key=len, reverse=True)
    return _tree(with_unwritten_workflows(first)), _others(others)


def with_unwritten_workflows(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`spans`, plus a stand-in for each workflow span that is not written yet because its workflow
    is still running, while spans made inside the workflow already name it as their parent. A
    stand-in begins with the first of those spans, has no end (`end_ns` is None), sits under the
    client span that started its workflow when that span is in the trace, and is marked `unwritten`."""
    ids = {span["span_id"] for span in spans}
    orphans: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        attributes = span.get("attributes") or {}
        # Only spans made inside a workflow carry its run id: their parent is the workflow's span.
        if span["parent_id"] and span["parent_id"] not in ids and "temporalRunID" in attributes:
            orphans.setdefault(span["parent_id"], []).append(span)
    stand_ins = []
    for span_id, children in orphans.items():
        start = _workflow_start(spans, children[0]["attributes"].get("temporalWorkflowID"))
        workflow_type = start["name"].partition(":")[2] if start else "?"
        stand_ins.append(
            {
                "trace_id": children[0]["trace_id"],
                "span_id": span_id,
                "parent_id": start["span_id"] if start else None,
                "name": f"RunWorkflow:{workflow_type}",
                "service": children[0]["service"],
                "kind": "SERVER",
                "start_ns": min(child["start_ns"] for child in children),
                "end_ns": None,
                "status": "UNSET",
                "error": None,
                "attributes": {},
                "unwritten": True,
            }
        )
    return [*spans, *stand_ins]


def _workflow_start(spans: list[dict[str, Any]], workflow_id: object) -> dict[str, Any] | None:
    """The first client span in `spans` that started workflow `workflow_id`."""
    starts = [
        span
        for span in spans
        if span["name"].startswith(WORKFLOW_STARTS)
        and (span.get("attributes") or {}).get("temporalWorkflowID") == workflow_id
    ]
    return min(starts, key=lambda span: span["start_ns"], default=None)


def _tree(spans: list[dict[str, Any]]) -> Table:
    began = min(span["start_ns"] for span in spans)
    ended = max(span["end_ns"] for span in spans if span["end_ns"] is not None)
    table = Table(
        title=f"trace {spans[0]['trace_id']}: {len(spans)} spans, {_ms(ended - began)}",
        title_justify="left",
        box=None,
        padding=(0, 1),
    )
    columns: tuple[tuple[str, JustifyMethod, int], ...] = (
        ("start", "right", 10),
        ("duration", "right", 9),
        ("service", "left", 13),
        ("status", "left", 6),
    )
    for column, justify, width in columns:
        table.add_column(column, justify=justify, no_wrap=True, min_width=width)
    table.add_column("span", overflow="fold")
    for depth, span in span_tree(spans):
        status = span["status"] if span["status"] != "UNSET" else ""
        name = Text("  " * depth + _name(span))
        if span.get("error"):
            name.append(f"  {span['error'][:100]}", style="red")
        if span.get("unwritten"):
            name.append("  not written yet: a workflow's span is written when it ends", style="dim")
        table.add_row(
            f"+{_ms(span['start_ns'] - began)}",
            "…" if span["end_ns"] is None else _ms(span["end_ns"] - span["start_ns"]),
            span["service"],
            Text(status, style=STATUS_STYLES.get(status, "")),
            name,
        )
    return table


def _name(span: dict[str, Any]) -> str:
    """The span's name; an HTTP client span (named by its method alone) gets its URL's path."""
    attributes = span.get("attributes") or {}
    url = attributes.get("url.full") or attributes.get("http.url")
    if span.get("kind") == "CLIENT" and url:
        return f"{span['name']} {_UUID.sub('<id>', urlsplit(url).path)}"
    name: str = span["name"]
    return name


def _others(traces: list[list[dict[str, Any]]]) -> list[str]:
    roots = Counter((root["service"], _name(root)) for root in (span_tree(trace)[0][1] for trace in traces))
    return [
        f"{service}: {name}" + (f"  ×{count}" if count > 1 else "")
        for (service, name), count in roots.items()
    ]


def _ms(nanoseconds: int) -> str:
    milliseconds = nanoseconds / 1e6
    return f"{milliseconds:.1f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.2f} s"

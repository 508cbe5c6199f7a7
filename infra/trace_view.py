"""`sagactl trace ORDER_ID`: where the time of one order went, from the spans the processes wrote
under `<var>/traces` (the embedded default; with an OTLP collector, look there instead).

The order's trace is printed as a tree: each span's start after the trace began, its duration, its
service and status, its name indented under its parent. Other requests that named the order (reads
of its progress, a cancel) are traces of their own, listed after it in one line each.
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
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def order_trace_view(traces_dir: Path, order_id: str) -> tuple[Table | None, list[str]]:
    """The tree of the order's first trace (None when no span names the order), and a line for
    each other trace that touched it."""
    traces = order_traces(read_spans(traces_dir), order_id)
    if not traces:
        return None, []
    first, *others = sorted(traces, key=len, reverse=True)
    return _tree(first), _others(others)


def _tree(spans: list[dict[str, Any]]) -> Table:
    began = min(span["start_ns"] for span in spans)
    ended = max(span["end_ns"] for span in spans)
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
        table.add_row(
            f"+{_ms(span['start_ns'] - began)}",
            _ms(span["end_ns"] - span["start_ns"]),
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

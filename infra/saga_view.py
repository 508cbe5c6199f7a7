"""How sagactl shows a saga: its steps as a table (`order show`), redrawn live while it runs (`order
place --wait`). Reads order_svc's REST API only: the order and `GET /api/v1/orders/{id}/saga`.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from infra.rest import FINAL_ORDER_STATUSES, ApiError, JsonObject, RestClient
from saga_contract import StepState, format_money

STATE_STYLES = {
    StepState.PENDING: "dim",
    StepState.RUNNING: "cyan",
    StepState.DONE: "green",
    StepState.FAILED: "red",
    StepState.COMPENSATED: "yellow",
    StepState.SKIPPED: "dim strike",
}
"""How each step state is drawn: a skipped step (its saga closed before reaching it) is struck through."""


def order_line(order: JsonObject) -> Text:
    """'order <id>  CONFIRMED  reason -  total 61.80 USD', the status coloured."""
    style = {"CONFIRMED": "green", "CANCELLED": "yellow"}.get(order["status"], "cyan")
    cents = order.get("total_cents")
    total = "-" if cents is None else format_money(cents, order.get("currency", "USD"))
    line = Text(f"order {order['id']}  ")
    line.append(order["status"], style=style)
    line.append(f"  reason {order.get('cancellation_reason') or '-'}  total {total}")
    return line


def _clock(stamp: str | None) -> str:
    return "-" if not stamp else stamp[11:23]  # HH:MM:SS.mmm of an ISO time


def steps_table(saga: JsonObject | None) -> Table:
    """One row per saga step: state, attempts, when it started and ended, its last error."""
    table = Table(box=None, padding=(0, 1))
    table.add_column("step", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for name in ("attempts", "started", "finished"):
        table.add_column(name, no_wrap=True)
    table.add_column("last error")
    if saga is None:
        return table
    for step in saga["steps"]:
        state = step["state"]
        finished = step.get("compensated_at") if state == "compensated" else step.get("finished_at")
        table.add_row(
            step["name"],
            Text(state, style=STATE_STYLES.get(state, "")),
            str(step.get("attempts") or "-"),
            _clock(step.get("started_at")),
            _clock(finished),
            Text((step.get("last_error") or "")[:80], style="red"),
        )
    return table


def read_saga(orders: RestClient, order_id: str) -> JsonObject | None:
    """The saga's steps, or None while order_svc cannot tell (Temporal not reachable right now)."""
    try:
        saga: JsonObject = orders.check(orders.get(f"/api/v1/orders/{order_id}/saga"))
    except ApiError as error:
        if error.status == 503:
            return None
        raise
    return saga


def show(orders: RestClient, order_id: str) -> Group:
    order: JsonObject = orders.check(orders.get(f"/api/v1/orders/{order_id}"))
    return Group(order_line(order), steps_table(read_saga(orders, order_id)))


def follow(
    orders: RestClient, order_id: str, *, timeout: float, console: Console, interval: float = 0.25
) -> JsonObject:
    """Redraw the order and its steps until it is final or `timeout` seconds have passed (on a
    terminal; piped, only the last view is printed); the last order read."""
    deadline = time.monotonic() + timeout
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    with live or nullcontext():
        while True:
            order: JsonObject = orders.check(orders.get(f"/api/v1/orders/{order_id}"))
            view = Group(order_line(order), steps_table(read_saga(orders, order_id)))
            if live is not None:
                live.update(view, refresh=True)
            if order["status"] in FINAL_ORDER_STATUSES or time.monotonic() >= deadline:
                break
            time.sleep(interval)
    if live is None:
        console.print(view)
    return order

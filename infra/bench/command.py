"""`sagactl bench`: its arguments, a stack of its own (with the commands phase's servers beside it),
every level measured, reported as tables, and written as JSON (keys: infra/bench/measure.py and
infra/bench/commands.py) and a plot when asked."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from infra.bench.commands import CPU_BUDGET, commands_level, warm_up
from infra.bench.history import store_past_orders
from infra.bench.measure import run_levels
from infra.bench.setup import (
    BENCH_TUNING,
    FLOOR_KINDS,
    command_servers,
    floor_worker,
    prepare,
    prepare_commands,
)
from infra.rest import JsonObject
from infra.stack import SERVICES, OwnStackSettings, Stack, StackConfig

if TYPE_CHECKING:
    from rich.console import Console


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `sagactl bench` on sagactl's subcommands."""
    bench = commands.add_parser(
        "bench",
        help="measure orders against a no-op saga of the same shape (the floor) on a stack of its own",
    )
    bench.add_argument(
        "--orders", type=_positive, default=100, metavar="N", help="sagas per side and level (default 100)"
    )
    bench.add_argument(
        "--concurrency",
        type=_positive,
        nargs="+",
        default=[1, 20, 50],
        metavar="C",
        help="concurrent clients, one level each (default 1 20 50)",
    )
    bench.add_argument(
        "--repeat", type=_positive, default=1, metavar="R", help="repetitions of each level (default 1)"
    )
    bench.add_argument(
        "--history",
        type=_non_negative,
        default=0,
        metavar="N",
        help="measure again after storing N past orders in every service (e.g. 10000)",
    )
    bench.add_argument(
        "--floor",
        choices=FLOOR_KINDS,
        default="activities",
        help="the floor's saga runs its no-op steps as activities (default, as the product does) "
        "or as local activities",
    )
    bench.add_argument(
        "--postgres",
        metavar="URL",
        help="run every service of both sides on databases of their own on this PostgreSQL server "
        "(e.g. postgres://postgres@127.0.0.1:5432), created and dropped by the bench",
    )
    bench.add_argument("--json", type=Path, metavar="FILE", help="write the figures to FILE as JSON")
    bench.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="plot throughput and p99 against concurrency"
    )
    bench.set_defaults(run=lambda args: command(args, root_var_dir=StackConfig.from_env().var_dir))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def print_levels(levels: list[JsonObject], console: Console, *, floor_kind: str = "activities") -> None:
    from rich.table import Table

    floor = "a no-op saga of the same shape" + (
        ", its steps local activities" if floor_kind == "local" else ""
    )
    table = Table(title=f"orders (product) against {floor} (floor); times in ms", box=None)
    for column in (
        "conc",
        "orders×rep",
        "floor /s",
        "product /s",
        "ratio",
        "floor p50",
        "product p50",
        "ratio",
        "p95 f/p",
        "p99 f/p",
        "accept p50/p99",
        "first wave p50/max",
        "events f/p",
    ):
        table.add_column(column, justify="right", no_wrap=True)
    for level in levels:
        floor, product, ratios = level["floor"], level["product"], level["ratios"]
        table.add_row(
            str(level["concurrency"]),
            f"{level['orders']}×{level['repeat']}",
            f"{floor['throughput_per_s']:.1f}",
            f"{product['throughput_per_s']:.1f}",
            f"{ratios['throughput']}",
            f"{floor['p50_ms']:.0f}",
            f"{product['p50_ms']:.0f}",
            f"{ratios['p50']}",
            f"{floor['p95_ms']:.0f}/{product['p95_ms']:.0f}",
            f"{floor['p99_ms']:.0f}/{product['p99_ms']:.0f}",
            f"{product['accept_p50_ms']:.1f}/{product['accept_p99_ms']:.1f}",
            f"{product['first_wave_accept_p50_ms']:.0f}/{product['first_wave_accept_max_ms']:.0f}",
            f"{floor['history_events_per_order']}/{product['history_events_per_order']}",
        )
    console.print(table)
    for side in ("floor", "product"):
        cpu = Table(title=f"{side}: CPU ms per saga / peak resident MB, by process", box=None)
        names = list(levels[0][side]["processes"]) if levels else []
        cpu.add_column("conc", justify="right")
        for name in names:
            cpu.add_column(name, justify="right", no_wrap=True)
        for level in levels:
            processes = level[side]["processes"]
            cpu.add_row(str(level["concurrency"]), *[_cpu_and_memory(processes[n]) for n in names])
        console.print(cpu)


def _cpu_and_memory(process: JsonObject) -> str:
    """CPU ms per saga and peak MB; CPU alone where no memory was read (PostgreSQL's backends)."""
    memory = f" / {process['peak_rss_mb']:.0f}" if process["peak_rss_mb"] else ""
    return f"{process['cpu_ms_per_order']:.0f}{memory}"


def print_service_requests(levels: list[JsonObject], console: Console) -> None:
    """Each service's CPU per HTTP request it answered while the product's sagas ran."""
    from rich.table import Table

    table = Table(title="product sagas: CPU ms per HTTP request / requests per saga, by service", box=None)
    table.add_column("conc", justify="right")
    for service in SERVICES:
        table.add_column(service, justify="right", no_wrap=True)
    for level in levels:
        processes, completed = level["product"]["processes"], max(level["product"]["completed"], 1)
        table.add_row(
            str(level["concurrency"]),
            *[
                f"{_figure(processes[s]['cpu_ms_per_request'], '.1f')} / {processes[s]['requests'] / completed:.1f}"
                for s in SERVICES
            ],
        )
    console.print(table)


def print_commands(levels: list[JsonObject], console: Console) -> None:
    """Per level, each saga command's CPU per request on the product against the framework floor."""
    from rich.table import Table

    for level in levels:
        commands = level.get("commands")
        if not commands:
            continue
        postgres = "postgres_cpu_ms_per_request" in next(iter(commands.values()))["product"]
        table = Table(
            title=f"commands at {level['concurrency']} concurrent, {level['orders']} requests each: "
            "CPU ms per request, product against a bare Django + DRF floor",
            box=None,
        )
        columns = [
            "command",
            "service",
            "product",
            "floor",
            f"ratio (≤ {CPU_BUDGET})",
            "SQL p/f",
            "req/s p/f",
        ]
        if postgres:
            columns.append("postgres p/f")
        for column in columns:
            table.add_column(
                column, justify="left" if column in ("command", "service") else "right", no_wrap=True
            )
        for command, row in commands.items():
            product, floor = row["product"], row["floor"]
            cells = [
                command,
                row["service"],
                f"{product['cpu_ms_per_request']:.1f}",
                f"{floor['cpu_ms_per_request']:.1f}",
                _figure(row["ratio"], ".2f"),
                f"{row['statements']['product']}/{row['statements']['floor']}",
                f"{product['requests_per_s']:.0f}/{floor['requests_per_s']:.0f}",
            ]
            if postgres:
                cells.append(
                    f"{product['postgres_cpu_ms_per_request']:.1f}/{floor['postgres_cpu_ms_per_request']:.1f}"
                )
            table.add_row(*cells)
        console.print(table)


def _figure(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_growth(empty: list[JsonObject], stored: list[JsonObject], console: Console) -> None:
    """The product with past orders stored against the same product on an empty start."""
    from rich.table import Table

    orders = stored[0]["stored_orders"] if stored else 0
    table = Table(title=f"product with {orders} past orders stored, against an empty start", box=None)
    for column in (
        "conc",
        "orders/s empty",
        f"orders/s {orders}",
        "ratio",
        "p50 empty",
        f"p50 {orders}",
        "ratio",
        "accept p99 empty",
        f"accept p99 {orders}",
    ):
        table.add_column(column, justify="right", no_wrap=True)
    for before, after in zip(empty, stored, strict=True):
        b, a = before["product"], after["product"]
        table.add_row(
            str(before["concurrency"]),
            f"{b['throughput_per_s']:.1f}",
            f"{a['throughput_per_s']:.1f}",
            f"{a['throughput_per_s'] / b['throughput_per_s']:.2f}" if b["throughput_per_s"] else "-",
            f"{b['p50_ms']:.0f}",
            f"{a['p50_ms']:.0f}",
            f"{a['p50_ms'] / b['p50_ms']:.2f}" if b["p50_ms"] else "-",
            f"{b['accept_p99_ms']:.1f}",
            f"{a['accept_p99_ms']:.1f}",
        )
    console.print(table)


def plot(levels: list[JsonObject], path: Path) -> None:
    """Throughput and p99 time to final against concurrency, product beside floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    concurrency = [level["concurrency"] for level in levels]
    figure, (throughput, p99) = plt.subplots(1, 2, figsize=(10, 4))
    for side, style in (("floor", "--o"), ("product", "-o")):
        throughput.plot(concurrency, [level[side]["throughput_per_s"] for level in levels], style, label=side)
        p99.plot(concurrency, [level[side]["p99_ms"] for level in levels], style, label=side)
    throughput.set(title="throughput", xlabel="concurrent clients", ylabel="completed sagas / s")
    p99.set(title="p99 time to final", xlabel="concurrent clients", ylabel="ms")
    for axes in (throughput, p99):
        axes.set_xticks(concurrency)
        axes.legend()
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def command(args: argparse.Namespace, *, root_var_dir: Path) -> NoReturn:
    """Exit 0 with the figures printed, 1 when the run failed. Leaves through os._exit."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    code = 1
    var_dir = root_var_dir / "bench" / time.strftime("%Y%m%d-%H%M%S")
    settings: OwnStackSettings = {"tuning": BENCH_TUNING}
    if args.postgres:
        settings["postgres_url"] = args.postgres
    stack = Stack(StackConfig.on_free_ports(var_dir, **settings))
    floor = floor_worker(stack.config, args.floor)
    servers = command_servers(stack.config)
    try:
        on = f"PostgreSQL at {args.postgres}" if args.postgres else "its own databases"
        console.print(
            f"bench: starting a stack of its own on {on} (logs in {var_dir / 'logs'}); abuse limits raised"
        )
        stack.start()
        floor.start()
        floor.wait_ready(30)
        stack.processes["floor_worker"] = floor
        console.print(
            "bench: starting the product's services again and the framework floor, for the commands"
        )
        for side in servers:
            side.start()
        sides, statements = prepare_commands(servers, max(args.concurrency))
        asyncio.run(warm_up(sides))
        rounds = 2 if args.history else 1
        target = prepare(
            stack, max(args.concurrency), rounds * args.orders * args.repeat * len(args.concurrency)
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("", total=0)

            def progress(description: str, total: int) -> None:
                if description:
                    bar.reset(task, description=description, total=total)
                else:
                    bar.advance(task)

            async def commands(concurrency: int) -> JsonObject:
                return {
                    "commands": await commands_level(sides, statements, concurrency, args.orders, progress)
                }

            def measure(stored_orders: int) -> list[JsonObject]:
                levels = asyncio.run(
                    run_levels(
                        target,
                        concurrency=args.concurrency,
                        orders=args.orders,
                        repeat=args.repeat,
                        progress=progress,
                        after_level=None if stored_orders else commands,
                    )
                )
                return [
                    {**level, "floor_kind": args.floor, "stored_orders": stored_orders} for level in levels
                ]

            empty = measure(0)
            stored = []
            if args.history:
                bar.console.print(f"storing {args.history} past orders in every service")
                store_past_orders(stack.config, orders=args.history, run=int(time.time()))
                stored = measure(args.history)
        print_levels(empty, console, floor_kind=args.floor)
        print_service_requests(empty, console)
        print_commands(empty, console)
        if stored:
            print_growth(empty, stored, console)
        if args.json:
            args.json.write_text(json.dumps(empty + stored, indent=2))
        if args.plot:
            plot(empty, args.plot)
        code = 0
    except KeyboardInterrupt:
        code = 130
    except Exception:
        console.print_exception()
    finally:
        for side in servers:
            side.stop()
        floor.stop()
        stack.stop()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

"""`sagactl chaos`: its arguments, the stack of its own it runs on, and the report on the terminal."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

from infra.broker import broker_address, with_address
from infra.chaos.netns import Topology, unavailable_reason
from infra.chaos.report import ChaosReport, write_json
from infra.chaos.runner import ChaosOptions, run_chaos
from infra.chaos.scenarios import SCENARIOS
from infra.chaos.soak import Sampler, file_growth, judge, plot, steady_until, write_samples
from infra.mail import MailSink
from infra.rest import FINAL_ORDER_STATUSES, ApiError, JsonObject, RestClient, ServiceCallError
from infra.stack import HOST, Deployment, OwnStackSettings, Stack, StackConfig
from infra.tcp_proxy import TcpProxy

if TYPE_CHECKING:
    from rich.console import Console

Number = TypeVar("Number", int, float)


def print_report(report: ChaosReport, console: Console) -> None:
    from rich.table import Table

    table = Table(
        title=f"chaos {report.scenario}: {report.orders} orders, seed {report.seed}", show_header=False
    )
    table.add_column(style="bold")
    table.add_column()
    for outcome, count in report.by_outcome.items():
        table.add_row(f"  {outcome}", str(count))
    table.add_row("unexpected outcomes", str(len(report.unexpected)))
    table.add_row("not final", str(len(report.not_final)))
    table.add_row(
        "faults injected", ", ".join(f"{k} {v}" for k, v in report.faults_injected.items()) or "none"
    )
    table.add_row("processes killed", ", ".join(f"{k} {v}" for k, v in report.kills.items()) or "none")
    table.add_row(
        "processes restarted", ", ".join(f"{k} {v}" for k, v in report.restarts.items() if v) or "none"
    )
    table.add_row("activity attempts beyond the first", str(report.attempts_beyond_first))
    table.add_row(
        "sagas by worker version",
        ", ".join(f"{build}: {count}" for build, count in report.sagas_by_version.items()),
    )
    table.add_row("service calls beyond the first", str(report.calls_beyond_first))
    table.add_row(
        "breakers opened", ", ".join(f"{k} {v}" for k, v in report.breakers_opened.items()) or "none"
    )
    table.add_row("order placements retried", str(report.place_retries))
    table.add_row(
        "time to final", "p50 {p50:.2f} s, p99 {p99:.2f} s, max {max:.2f} s".format(**report.seconds_to_final)
    )
    if report.mail:
        table.add_row(
            "mail",
            "{delivered} delivered, {distinct} distinct, {orders_mailed_twice} orders mailed twice, "
            "{refused} refused".format(**report.mail),
        )
    if report.broker_cuts:
        table.add_row("broker connections cut", str(report.broker_cuts))
    if report.dead_letters is not None:
        table.add_row("dead-lettered messages", str(report.dead_letters))
    for verdict in report.soak.get("verdicts", []):
        table.add_row(
            f"soak {verdict['process']}",
            "memory {rss_start_mb:.0f} -> {rss_end_mb:.0f} MiB ({rss_growth:+.1%}), descriptors "
            "{descriptors_start} -> {descriptors_end}, threads (pools aside) {threads_start} -> {threads_end}, "
            "{incarnations} run(s), {judged_seconds:.0f} s judged: {verdict}".format(**verdict),
        )
    for verdict in report.soak.get("files", {}).get("verdicts", []):
        table.add_row(
            f"soak files: {verdict['files']}",
            (
                (
                    "largest file {largest_file_mb:.2f} MiB, cap {cap_mb:.2f} MiB; "
                    if verdict["cap_mb"]
                    else ""
                )
                + "all together at most {first_half_peak_mb:.1f} MiB in the first half, "
                "{second_half_peak_mb:.1f} MiB in the second, {judged_seconds:.0f} s judged: {verdict}"
            ).format(**verdict),
        )
    table.add_row("invariant violations", str(report.violations))
    table.add_row("run took", f"{report.duration_seconds:.0f} s")
    console.print(table)
    for result in report.audit["invariants"]:
        for violation in result["violations"]:
            console.print(
                f"  violation {violation['invariant']}: {violation['subject']}: {violation['detail']}"
            )
    for order in report.unexpected:
        console.print(
            f"  unexpected: order {order['order_id']} expected {order['expected']}, got {order['got']}"
        )
    console.print("[bold green]OK[/]" if report.ok else "[bold red]FAILED[/]")


def command(args: argparse.Namespace, *, root_var_dir: Path) -> NoReturn:
    """`sagactl chaos`: start a stack of its own under `root_var_dir`/chaos, with an SMTP server of
    its own for the notifications, on RabbitMQ a proxy in front of the broker, and for a scenario of
    network faults the saga's services in network namespaces of their own; run the scenario, report,
    stop the stack and remove what the run made.

    Exit 0 when every order is final as its kind demands and the audit finds no violation, 1
    otherwise. Leaves through os._exit: a process that used temporalio can crash at exit.
    """
    from rich.console import Console

    console = Console(highlight=False)
    var_dir = root_var_dir / "chaos" / f"{args.scenario}-{time.strftime('%Y%m%d-%H%M%S')}"
    if (args.orders is None) == (args.duration is None):
        console.print("chaos: give either --orders N or --duration SECONDS (then N = duration x rate)")
        sys.stdout.flush()
        os._exit(2)
    args.orders = args.orders or math.ceil(args.duration * args.rate)
    options = ChaosOptions(
        SCENARIOS[args.scenario],
        orders=args.orders,
        concurrency=args.concurrency,
        seed=args.seed,
        rate=args.rate,
        timeout=args.timeout,
    )
    rabbitmq = args.rabbitmq or StackConfig.from_env().rabbitmq_url
    if options.scenario.needs_rabbitmq and not rabbitmq:
        console.print(
            f"chaos {args.scenario} cuts the broker's connections: give it RabbitMQ with --rabbitmq URL"
        )
        sys.stdout.flush()
        os._exit(2)
    network = options.scenario.network
    if network and (reason := unavailable_reason(faults=network.tools)):
        console.print(f"chaos {args.scenario} needs the services in network namespaces: {reason}")
        sys.stdout.flush()
        os._exit(2)
    code = 1
    try:
        with contextlib.ExitStack() as running:
            mail = running.enter_context(MailSink())
            proxy = running.enter_context(TcpProxy(*broker_address(rabbitmq))) if rabbitmq else None
            broker = with_address(rabbitmq, HOST, proxy.port) if rabbitmq and proxy else None
            scenario = options.scenario
            settings: OwnStackSettings = {
                **scenario.stack_settings(mail.environment()),
                "chaos": True,
                "rabbitmq_url": broker,
            }
            config = StackConfig.on_free_ports(var_dir, **settings)
            topology = running.enter_context(Topology(tun=bool(network.delay_ms))) if network else None
            if topology is not None:
                config = topology.place(config)
            code = _run(args, options, Stack(config), console, mail=mail, proxy=proxy, topology=topology)
    except Exception:
        console.print_exception()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _run(
    args: argparse.Namespace,
    options: ChaosOptions,
    stack: Stack,
    console: Console,
    *,
    mail: MailSink,
    proxy: TcpProxy | None,
    topology: Topology | None,
) -> int:
    """Start the stack, run the scenario, report, stop the stack; the exit code."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    code = 1
    var_dir = stack.config.var_dir
    try:
        console.print(f"chaos {args.scenario}: starting a stack of its own (logs in {var_dir / 'logs'})")
        stack.start()
        if options.scenario.ramp is not None:
            build_id, percent = options.scenario.ramp
            stack.add_worker(build_id)
            Deployment(stack.temporal_address).ramp(build_id, percent)  # returns once routed
            console.print(
                f"worker version {build_id} runs beside the stack's and takes {percent:g}% of new sagas"
            )
        stack.supervise()
        console.print(f"Temporal Web UI of this run: {stack.config.ui_url}")
        sampler = _soak_sampler(stack, args) if options.scenario.name == "soak" else None
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            placed = bar.add_task("placed", total=args.orders)
            final = bar.add_task("final ", total=args.orders)

            def progress(kind: str, count: int | None = None) -> None:
                if kind == "placed":
                    bar.advance(placed)
                else:
                    bar.update(final, completed=count)

            report = run_chaos(
                stack,
                options,
                log=bar.console.print,
                progress=progress,
                mail=mail,
                broker_proxy=proxy,
                topology=topology,
            )
        if sampler is not None:
            report.soak = _soak_results(sampler, args, console)
        print_report(report, console)
        if args.json:
            write_json(report, args.json)
        code = 0 if report.ok else 1
    except KeyboardInterrupt:
        code = 130
    except Exception:
        console.print_exception()
    finally:
        stack.stop()
    return code


def _soak_sampler(stack: Stack, args: argparse.Namespace) -> Sampler:
    """A sampler of every process for the run's length: about 120 samples, 2 to 15 s apart."""
    orders = RestClient("order_svc", stack.order_url, token=stack.config.tokens().operator_token())

    def final_orders() -> int | None:
        try:
            counts = [
                orders.check(orders.get("/api/v1/orders", params={"status": status, "page_size": "1"}))[
                    "count"
                ]
                for status in sorted(FINAL_ORDER_STATUSES)
            ]
            return sum(int(count) for count in counts)
        except (ApiError, ServiceCallError):  # a service being restarted
            return None

    sampler = Sampler(stack, final_orders, every=min(15.0, max(2.0, args.orders / args.rate / 120)))
    sampler.start()
    return sampler


def _soak_results(sampler: Sampler, args: argparse.Namespace, console: Console) -> JsonObject:
    """Stop sampling; judge every process, plot, keep the samples beside the logs; the verdicts and
    the files' growth, for the report."""
    sampler.stop()
    warm_up, until = min(300.0, args.orders / args.rate / 5), steady_until(sampler, args.orders)
    verdicts = judge(sampler.processes, warm_up=warm_up, until=until)
    var_dir = sampler.stack.config.var_dir
    write_samples(sampler, verdicts, var_dir / "soak-samples.json")
    picture = args.plot or var_dir / "soak.png"
    plot(sampler, picture, title=f"chaos soak: {args.orders} orders at {args.rate:g}/s")
    console.print(f"soak: samples in {var_dir / 'soak-samples.json'}, plot in {picture}")
    files = file_growth(sampler, warm_up=warm_up, until=until, file_cap=SCENARIOS[args.scenario].file_cap)
    return {"verdicts": [verdict.as_json() for verdict in verdicts], "files": files}


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `sagactl chaos` on sagactl's subcommands."""
    chaos = commands.add_parser(
        "chaos", help="inject failures while orders flow through a stack of its own, then audit"
    )
    chaos.add_argument(
        "scenario",
        choices=sorted(SCENARIOS),
        # argparse formats help with %: a summary's "30 %" must reach it as "30 %%".
        help="; ".join(f"{s.name}: {s.summary}" for s in SCENARIOS.values()).replace("%", "%%"),
    )
    chaos.add_argument("--orders", type=_positive(int), metavar="N", help="orders to place")
    chaos.add_argument(
        "--duration",
        type=_positive(float),
        metavar="SECONDS",
        help="place orders for this long instead (duration x rate of them), e.g. for a soak",
    )
    chaos.add_argument(
        "--plot", type=Path, metavar="FILE", help="a soak's plot of every process over time (PNG)"
    )
    chaos.add_argument("--concurrency", type=_positive(int), default=4, metavar="C")
    chaos.add_argument("--seed", type=int, default=1, metavar="S", help="the order mix and kill targets")
    chaos.add_argument("--rate", type=_positive(float), default=5.0, metavar="R", help="orders per second")
    chaos.add_argument(
        "--timeout",
        type=_positive(float),
        default=300.0,
        metavar="S",
        help="seconds to wait for every order to be final once all are placed",
    )
    chaos.add_argument("--json", type=Path, metavar="FILE", help="also write the report to FILE as JSON")
    chaos.add_argument(
        "--rabbitmq",
        metavar="URL",
        help="send the events through RabbitMQ (amqp://user:password@host:5672/), in a virtual host of the "
        "run's own, behind a proxy the run can cut (default: SAGA_RABBITMQ_URL, else the embedded transport)",
    )
    chaos.set_defaults(run=lambda args: command(args, root_var_dir=StackConfig.from_env().var_dir))


def _positive(kind: type[Number]) -> Callable[[str], Number]:
    def parse(text: str) -> Number:
        value = kind(text)
        if value <= 0:
            raise ValueError(text)
        return value

    parse.__name__ = kind.__name__
    return parse

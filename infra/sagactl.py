"""`sagactl`, the command line of the local stack: `up` builds the storefront where npm is installed,
then runs the whole system until Ctrl-C (restarting any process that dies) or until a process cannot
be started (docs/resilience.md#start-up-deaths), `seed` loads the demo
data, `order place` sends an order and can follow it to its end, `audit` checks that money and stock
add up, `rollout` ships a new worker version, `chaos` runs a failure scenario against a stack of its
own, `token` prints a bearer token for a customer or an operator. It reaches the services only over
their HTTP APIs, with tokens that identity_svc signs on its development path (which production
refuses), like any client's.
Exit codes: 0 done, 1 failed, 2 bad input or settings.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import re
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import NoReturn

from rich.console import Console
from rich.table import Table

from chassis.tokens import DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS
from infra import chaos, demo_data, monitoring, nginx, rollout, saga_view, storefront, trace_view
from infra.audit.command import command as audit_command
from infra.bench import command as bench
from infra.identity import NoDevToken
from infra.rest import (
    FINAL_ORDER_STATUSES,
    RestClient,
    ServiceCallError,
    ServiceUnavailable,
)
from infra.stack import (
    DATABASE_URL_VARIABLES,
    OPTIONAL_PORT_SETTINGS,
    ConfigError,
    OptionalPortField,
    Stack,
    StackConfig,
    StackError,
    StackSettings,
    StartCancelled,
)
from observability.logs import JsonFormatter
from saga_contract import (
    CUSTOMER_ID_PATTERN,
    DEFAULT_DEADLINE_SECONDS,
    NAMESPACE,
    TASK_QUEUE,
    format_money,
    workflow_id,
)

log = logging.getLogger("sagactl")
# Piped or captured, rich would assume 80 columns and fold the step tables; give them room.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)

_ITEM = re.compile(r"(?P<sku>[^\s:]+):(?P<quantity>[0-9]+)")
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)


class UsageError(Exception):
    """Bad command-line input: reported on one line, exit code 2."""


class CommandFailed(Exception):
    """The command ran but did not get what it wanted: reported on one line, exit code 1."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run  # each command's function, set by _parser
    # A stop asked by a service manager or a closed terminal unwinds like Ctrl-C: every command
    # that started processes (a bench's or a chaos run's stack) stops them on its way out. `up`
    # installs handlers of its own.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        return run(args)
    except KeyboardInterrupt:
        _report("stopped")
        return 130
    except (UsageError, ConfigError) as error:
        _report(error)
        return 2
    except ServiceUnavailable as error:
        _report(f"{error}; is `sagactl up` running?")
        return 1
    except (CommandFailed, StackError, ServiceCallError, NoDevToken) as error:
        _report(error)
        return 1


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _report(error: object) -> None:
    print(f"sagactl: {error}", file=sys.stderr, flush=True)


def parse_item(text: str) -> tuple[str, int]:
    """'SKU:QTY' as (sku, quantity); UsageError unless QTY is a whole number of at least 1."""
    match = _ITEM.fullmatch(text)
    if match is None or int(match["quantity"]) < 1:
        raise UsageError(
            f"bad --item {text!r}: expected SKU:QTY with QTY a whole number >= 1, e.g. MUG-CERAMIC:2"
        )
    return match["sku"], int(match["quantity"])


def _parser() -> argparse.ArgumentParser:
    variables = [
        (variable, f"{owner} port (default {port})") for owner, variable, port in StackConfig().ports()
    ]
    variables += [
        (variable, f"{service} database (default: SQLite in the var dir)")
        for service, variable in DATABASE_URL_VARIABLES.items()
    ]
    variables.append(
        ("SAGA_POSTGRES_URL", "a PostgreSQL server for every service, as --postgres (default: SQLite)")
    )
    variables.append(
        (
            "SAGA_RABBITMQ_URL",
            "RabbitMQ for the integration events, as --rabbitmq (default: files in the var dir)",
        )
    )
    variables += [
        (variable, f"{owner}'s port with --{owner.removeprefix('the ')} (default {port})")
        for owner, variable, port in OPTIONAL_PORT_SETTINGS.values()
    ]
    variables.append(("SAGA_VAR_DIR", "logs, SQLite files and Temporal state (default: <repo>/var)"))
    parser = argparse.ArgumentParser(
        prog="sagactl",
        description="Run the saga order-processing stack locally and talk to it.",
        epilog="environment:\n" + "\n".join(f"  {name:<24} {meaning}" for name, meaning in variables),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up", help="start Temporal, the services and the worker, restart any that dies; stop on Ctrl-C"
    )
    up.add_argument("--seed", action="store_true", help="load the demo data once everything is ready")
    up.add_argument("--chaos", action="store_true", help="start the services with fault injection on")
    up.add_argument(
        "--prometheus",
        action="store_true",
        help="also run Prometheus with the project's scrape configuration and alert rules (PROMETHEUS_PORT, "
        "default 9090), when it is installed",
    )
    up.add_argument(
        "--postgres",
        metavar="URL",
        help="run the services on this PostgreSQL server (postgres://user:password@host:5432), a database "
        "each (saga_inventory, saga_payment, saga_orders), created when missing; default: SQLite",
    )
    up.add_argument(
        "--rabbitmq",
        metavar="URL",
        help="send the integration events through this RabbitMQ (amqp://user:password@host:5672/vhost); "
        "default: kombu's filesystem transport under the var dir, no server needed",
    )
    up.add_argument(
        "--gateway",
        action="store_true",
        help="also run the nginx gateway in front of the services (GATEWAY_PORT, default 8000), when nginx is "
        "installed",
    )
    up.set_defaults(run=_up)

    seed = commands.add_parser("seed", help="load the demo catalog and customer accounts (idempotent)")
    seed.set_defaults(run=_seed)

    order = commands.add_parser("order", help="place orders")
    actions = order.add_subparsers(required=True, metavar="ACTION")
    place = actions.add_parser("place", help="place one order and print its id, status and workflow link")
    place.add_argument("--customer", required=True, help="customer id, e.g. alice")
    place.add_argument(
        "--item", action="append", required=True, metavar="SKU:QTY", help="an order line; repeatable"
    )
    place.add_argument(
        "--wait",
        action="store_true",
        help="follow the order's saga step by step until CONFIRMED or CANCELLED",
    )
    place.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="seconds --wait waits (default 60)"
    )
    place.set_defaults(run=_place_order)
    show = actions.add_parser(
        "show", help="print an order and its saga's steps (state, attempts, times, errors)"
    )
    show.add_argument("order_id", metavar="ORDER_ID")
    show.set_defaults(run=_show_order)

    trace = commands.add_parser(
        "trace", help="print an order's trace: every span of its saga across the processes, as a tree"
    )
    trace.add_argument("order_id", metavar="ORDER_ID")
    trace.set_defaults(run=_trace_order)

    audit_cmd = commands.add_parser(
        "audit",
        help="check from the services and Temporal that money and stock add up; exit 1 on a violation",
    )
    audit_cmd.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the full report to FILE as JSON"
    )
    audit_cmd.add_argument(
        "--deadline-seconds",
        type=int,
        default=DEFAULT_DEADLINE_SECONDS,
        metavar="S",
        help=f"the order service's saga deadline (default {DEFAULT_DEADLINE_SECONDS})",
    )
    audit_cmd.set_defaults(run=_audit)

    token = commands.add_parser(
        "token", help="print a bearer token for a customer or an operator, valid for this checkout's stack"
    )
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--customer", metavar="ID", help="a customer's token: it may use that customer's orders and account"
    )
    who.add_argument(
        "--operator", action="store_true", help="an operator's token: catalog, accounts, every read"
    )
    token.add_argument(
        "--ttl",
        type=int,
        default=DEFAULT_TTL_SECONDS,
        metavar="SECONDS",
        help=f"lifetime in seconds (default {DEFAULT_TTL_SECONDS}, at most {MAX_TTL_SECONDS})",
    )
    token.set_defaults(run=_token)

    rollout.add_command(commands)
    chaos.add_command(commands)
    bench.add_command(commands)
    return parser


def _customer_id(text: str) -> str:
    if not _CUSTOMER_ID.fullmatch(text):
        raise UsageError(f"bad customer id {text!r}: 1-64 letters, digits or . _ @ -")
    return text


def _token(args: argparse.Namespace) -> int:
    if not 1 <= args.ttl <= MAX_TTL_SECONDS:
        raise UsageError(f"--ttl must be from 1 to {MAX_TTL_SECONDS} seconds, not {args.ttl}")
    keys = StackConfig.from_env().tokens()
    if args.operator:
        print(keys.operator_token(args.ttl))
    else:
        print(keys.customer_token(_customer_id(args.customer), args.ttl))
    return 0


def _extras(args: argparse.Namespace) -> list[OptionalPortField]:
    """The optional parts of the stack that were asked for and are installed; one line for each part
    asked for that is not installed."""
    asked: list[tuple[OptionalPortField, bool, bool, str]] = [
        (
            "prometheus_port",
            args.prometheus,
            monitoring.prometheus_binary() is not None,
            "prometheus is not installed, so it is not started (Debian: apt-get install prometheus); "
            "every process still serves /metrics",
        ),
        (
            "gateway_port",
            args.gateway,
            nginx.nginx_binary() is not None,
            "nginx is not installed, so the gateway is not started (Debian: apt-get install nginx); "
            "the services answer on their own ports",
        ),
    ]
    extras: list[OptionalPortField] = []
    for name, wanted, installed, not_installed in asked:
        if wanted and not installed:
            log.warning(not_installed)
        elif wanted:
            extras.append(name)
    return extras


def _up(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="sagactl: %(message)s"
    )  # for the person at the terminal
    for name in ("infra", "sagactl"):  # progress of our own, not every HTTP request of httpx
        logging.getLogger(name).setLevel(logging.INFO)
    settings: StackSettings = {"chaos": args.chaos}
    if args.postgres:
        settings["postgres_url"] = args.postgres
    if args.rabbitmq:
        settings["rabbitmq_url"] = args.rabbitmq
    config = StackConfig.from_env(extras=_extras(args), **settings)
    config.check_ports()  # before anything is written
    config.log_dir.mkdir(parents=True, exist_ok=True)
    # The same lines, in every process's schema; rotated as the stack's logs are.
    to_file = logging.handlers.RotatingFileHandler(
        config.log_dir / "sagactl.log", maxBytes=config.log_max_bytes, backupCount=1
    )
    to_file.setFormatter(JsonFormatter("sagactl"))
    logging.getLogger().addHandler(to_file)
    # The storefront's files, built before anything starts (Ctrl-C stops npm like anything else here);
    # the stack publishes what is built when it starts.
    try:
        storefront.build(config.root / "storefront", log_path=config.log_dir / "storefront-build.log")
    except KeyboardInterrupt:
        log.info("stopped before the stack was started")
        return 0
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop_requested.set())
    stack = Stack(config)
    try:
        stack.start(cancel=stop_requested)
    except StartCancelled:
        log.info("stopped before the stack was ready")
        return 0
    try:
        # A child that dies is restarted, and its death and return logged; one that cannot be started
        # again ends `up` as a failure to start would have.
        stack.supervise(on_failure=stop_requested)
        if args.seed:
            _load_demo_data(config)
        _print_endpoints(config)
        stop_requested.wait()
        if stack.failure is not None:
            raise stack.failure
        log.info("stopping")
    finally:
        stack.stop()
    log.info("stopped")
    return 0


def _print_endpoints(config: StackConfig) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_row(
        "storefront",
        storefront.address(config) or "not built (`make run` builds it where Node.js and npm are installed)",
    )
    for service in ("order_svc", "payment_svc", "inventory_svc", "notification_svc", "identity_svc"):
        table.add_row(service, f"{config.service_url(service)}/api/v1/")
    if config.rabbitmq_url:
        from chassis.events.broker import without_password  # kombu: loaded by `up` alone

        table.add_row("events", f"RabbitMQ at {without_password(config.rabbitmq_url)}")
    else:
        table.add_row("events", f"files under {config.var_dir / 'broker'}   (--rabbitmq URL for RabbitMQ)")
    if config.mail_server:
        table.add_row("mail", f"SMTP at {config.mail_server}")
    else:
        table.add_row("mail", f"files under {config.var_dir / 'mail'}   (EMAIL_HOST for an SMTP server)")
    table.add_row(
        "Temporal gRPC", f"{config.temporal_address}  (namespace {NAMESPACE}, task queue {TASK_QUEUE})"
    )
    if config.gateway_port is not None:
        table.add_row(
            "gateway", f"http://127.0.0.1:{config.gateway_port}/api/v1/   (docs: /api/docs/orders/)"
        )
    table.add_row("Temporal Web UI", config.ui_url)
    table.add_row("metrics", f"<service>/metrics   |   worker {config.worker_metrics_url}")
    if config.prometheus_port is not None:
        table.add_row("Prometheus", f"http://127.0.0.1:{config.prometheus_port}  (alerts: /alerts)")
    table.add_row("traces", f"sagactl trace ORDER_ID   ({config.var_dir / 'traces'})")
    table.add_row(
        "sign in", f"{config.identity_url}/accounts/sign-in   (identity_svc, the OpenID Connect provider)"
    )
    table.add_row("tokens", "sagactl token --customer alice   |   sagactl token --operator")
    table.add_row("logs", str(config.log_dir))
    console.print(table)
    console.print("[bold]Stack is up.[/] Press Ctrl-C to stop.")


def _seed(args: argparse.Namespace) -> int:
    _load_demo_data(StackConfig.from_env())
    return 0


def _load_demo_data(config: StackConfig) -> None:
    operator = config.tokens().operator_token()
    with (
        RestClient("inventory_svc", config.inventory_url, token=operator) as inventory,
        RestClient("payment_svc", config.payment_url, token=operator) as payment,
        RestClient("identity_svc", config.identity_url, token=operator) as identity,
    ):
        outcomes = demo_data.seed(inventory=inventory, payment=payment, identity=identity)
    products = Table("product", "name", "price", "on hand", "seed", box=None, padding=(0, 1))
    accounts = Table("account", "balance", "seed", box=None, padding=(0, 1))
    users = Table("sign in as", "password", "role", "seed", box=None, padding=(0, 1))
    for item, outcome in outcomes:
        if isinstance(item, demo_data.DemoProduct):
            products.add_row(item.sku, item.name, format_money(item.price_cents), str(item.on_hand), outcome)
        elif isinstance(item, demo_data.DemoCustomer):
            accounts.add_row(item.customer_id, format_money(item.balance_cents), outcome)
        else:
            users.add_row(item.email, item.password, item.role, outcome)
    console.print(products)
    console.print(accounts)
    console.print(users)
    console.print(f"Sign in at {config.identity_url}/accounts/sign-in")
    console.print("Try:")
    for shows, arguments in demo_data.DEMO_ORDERS:
        console.print(f"  sagactl order place {arguments}    [dim]# {shows}[/]")


def _place_order(args: argparse.Namespace) -> int:
    items = [parse_item(text) for text in args.item]
    customer = _customer_id(args.customer)
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    config = StackConfig.from_env()
    body = {"customer_id": customer, "items": [{"sku": sku, "quantity": qty} for sku, qty in items]}
    token = config.tokens().customer_token(customer)
    with RestClient("order_svc", config.order_url, token=token) as orders:
        order = orders.check(orders.post("/api/v1/orders", body))
        workflow = order.get("workflow_id") or workflow_id(order["id"])
        console.print(f"order {order['id']}  {order['status']}")
        console.print(f"workflow  {config.workflow_url(workflow)}")
        if not args.wait:
            return 0
        order = saga_view.follow(orders, order["id"], timeout=args.timeout, console=console)
    if order["status"] not in FINAL_ORDER_STATUSES:
        raise CommandFailed(f"order {order['id']} is still {order['status']} after {args.timeout:g} s")
    return 0


def _order_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise UsageError(f"bad order id {text!r}: expected a UUID") from None


def _show_order(args: argparse.Namespace) -> int:
    order_id = _order_id(args.order_id)
    config = StackConfig.from_env()
    with RestClient("order_svc", config.order_url, token=config.tokens().operator_token()) as orders:
        console.print(saga_view.show(orders, order_id))
    return 0


def _trace_order(args: argparse.Namespace) -> int:
    order_id = _order_id(args.order_id)
    traces_dir = StackConfig.from_env().var_dir / "traces"
    tree, others = trace_view.order_trace_view(traces_dir, order_id)
    if tree is None:
        raise CommandFailed(
            f"no span in {traces_dir} names order {order_id} (spans are written within a second; with "
            "OTEL_EXPORTER_OTLP_ENDPOINT set they go to that collector instead)"
        )
    console.print(tree)
    if others:
        console.print("other requests about this order, each a trace of its own:")
        for line in others:
            console.print(f"  {line}", highlight=False)
    return 0


def _audit(args: argparse.Namespace) -> NoReturn:
    if args.deadline_seconds < 1:
        raise UsageError(f"--deadline-seconds must be at least 1, not {args.deadline_seconds}")
    audit_command(StackConfig.from_env(), json_file=args.json, deadline_seconds=args.deadline_seconds)

"""What a bench run stands on: the stack's tuning, the floor's worker process beside it, the
products and customers (with their tokens) its orders use, and the commands phase's two sets of
servers (the product's services again, and the framework floor) with their data and statement counts."""

from __future__ import annotations

import os
import sys
import time
from urllib.parse import urlsplit

from infra.bench.commands import CommandSide
from infra.bench.measure import FLOOR_BUILD_ID, FLOOR_DEPLOYMENT, FLOOR_TASK_QUEUE, ITEMS, Target
from infra.bench.saga_requests import UNIT_PRICE_CENTS
from infra.bench.servers import ServiceSet
from infra.bench.statements import count_statements
from infra.rest import RestClient
from infra.stack import SERVICES, Deployment, ManagedProcess, Stack, StackConfig
from saga_contract import NAMESPACE

FLOOR_KINDS = ("activities", "local")

# The bench measures cost, not abuse limits: it raises them out of the way, and says so.
BENCH_TUNING = {"THROTTLE_REQUESTS": "1000000/min", "THROTTLE_ORDER_PLACEMENTS": "1000000/min"}


def floor_worker(config: StackConfig, kind: str) -> ManagedProcess:
    local = ["--local-activities"] if kind == "local" else []
    return ManagedProcess(
        "floor_worker",
        [
            sys.executable,
            "-m",
            "infra.bench.floor_worker",
            "--address",
            config.temporal_address,
            "--namespace",
            NAMESPACE,
            "--task-queue",
            FLOOR_TASK_QUEUE,
            *local,
        ],
        cwd=config.root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        log_path=config.log_dir / "floor_worker.log",
        ready=lambda: _floor_is_current(config),
    )


def _floor_is_current(config: StackConfig) -> bool:
    state = Deployment(config.temporal_address, name=FLOOR_DEPLOYMENT).state()
    return state is not None and state.current == FLOOR_BUILD_ID


def prepare(stack: Stack, customers: int, orders: int) -> Target:
    """Products with stock for every order of the run, and `customers` rich customers with tokens."""
    keys = stack.config.tokens()
    operator = keys.operator_token()
    run = f"B{time.strftime('%H%M%S')}"
    skus = [f"{run}-SKU{i}" for i in range(ITEMS)]
    ids = [f"{run}-c{i}" for i in range(customers)]
    with (
        RestClient("inventory_svc", stack.inventory_url, token=operator) as inventory,
        RestClient("payment_svc", stack.payment_url, token=operator) as payment,
    ):
        for sku in skus:
            inventory.check(
                inventory.post(
                    "/api/v1/products",
                    {
                        "sku": sku,
                        "name": f"Bench {sku}",
                        "price_cents": UNIT_PRICE_CENTS,
                        "on_hand": orders + 10,
                    },
                )
            )
        for customer in ids:
            payment.check(
                payment.post("/api/v1/accounts", {"customer_id": customer, "balance_cents": 10**12})
            )
    processes = {name: process.pid for name, process in stack.processes.items() if process.pid}
    config = stack.config
    return Target(
        temporal_address=stack.temporal_address,
        order_url=stack.order_url,
        customer_tokens=[keys.customer_token(customer, ttl_seconds=24 * 3600) for customer in ids],
        skus=skus,
        processes=processes,
        service_urls={service: config.service_url(service) for service in SERVICES},
        postgres_url=config.postgres_url,
        postgres_databases=[urlsplit(url).path.lstrip("/") for url in config.database_urls.values()],
    )


def command_servers(config: StackConfig) -> list[ServiceSet]:
    """The product's services again and the framework floor, each on free ports, a folder of its own
    under the stack's and, when the stack is on PostgreSQL, databases of their own there. They are
    picked before any of them starts, the stack's too: no set may take another's ports."""
    taken = config.port_numbers()
    servers = []
    for side in ("product", "floor"):
        side_config = StackConfig.on_free_ports(
            config.var_dir / f"commands-{side}",
            avoid=taken,
            tuning=BENCH_TUNING,
            postgres_url=config.postgres_url,
        )
        taken += side_config.port_numbers()
        servers.append(ServiceSet(side_config, floor=side == "floor"))
    return servers


def prepare_commands(
    servers: list[ServiceSet], customers: int
) -> tuple[list[CommandSide], dict[str, dict[str, int]]]:
    """Seed each started set alike (products with ample stock, `customers` rich customers) and count
    the statements of each command there; the sides of the commands phase and those counts."""
    run = f"C{time.strftime('%H%M%S')}"
    skus = [f"{run}-SKU{i}" for i in range(ITEMS)]
    ids = [f"{run}-c{i}" for i in range(customers)]
    sides, statements = [], {}
    # The floor verifies no token: both sides send the product's, from its identity_svc.
    keys = next(side for side in servers if not side.floor).config.tokens()
    for servers_of_side in servers:
        servers_of_side.seed(skus=skus, customers=ids, stock=10**6, price_cents=UNIT_PRICE_CENTS)
        saga_token = keys.saga_token(ttl_seconds=24 * 3600)
        tokens = {customer: keys.customer_token(customer, ttl_seconds=24 * 3600) for customer in ids}
        statements[servers_of_side.name] = count_statements(
            servers_of_side,
            skus=skus,
            customer_id=ids[0],
            saga_token=saga_token,
            customer_token=tokens[ids[0]],
        )
        on_postgres = servers_of_side.config.postgres_url is not None
        sides.append(
            CommandSide(
                name=servers_of_side.name,
                urls={service: servers_of_side.url(service) for service in SERVICES},
                groups={service: servers_of_side.group(service) for service in SERVICES},
                customers=ids,
                skus=skus,
                saga_token=None if servers_of_side.floor else saga_token,
                customer_tokens=None if servers_of_side.floor else tokens,
                postgres_url=servers_of_side.config.postgres_url,
                databases={
                    service: database
                    for service in SERVICES
                    if (database := servers_of_side.database(service)) is not None
                }
                if on_postgres
                else None,
            )
        )
    return sides, statements

"""SQL statements each saga command runs, counted inside the service's own Django.

`count_statements` runs this module (`python -m infra.bench.statements`) once per service of one
side of the commands phase (the product's second set or the framework floor), in that service's
Django with its settings and database. There each command is sent once through Django's test
Client (the whole middleware stack and view, as gunicorn would run them) inside
django.test.utils.CaptureQueriesContext, which records every statement the connection executes:
BEGIN, SAVEPOINT and RELEASE included, whichever database backend is configured. The orders are
fresh; placement and the commands that need an order before them run first, as in a saga.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import TYPE_CHECKING, TypedDict

from infra.bench.saga_requests import (
    CANCELLED_SAGA,
    COMMANDS,
    COMPLETED_SAGA,
    BenchOrder,
    command_request,
    is_customers,
)

if TYPE_CHECKING:
    from infra.bench.servers import ServiceSet

MARK = "statements: "


class Plan(TypedDict):
    """What this module is given on its standard input: the service whose commands it sends, and the
    products, customer and tokens they use."""

    service: str
    skus: list[str]
    customer_id: str
    saga_token: str
    customer_token: str


def count_statements(
    side: ServiceSet, *, skus: list[str], customer_id: str, saga_token: str, customer_token: str
) -> dict[str, int]:
    """Per command: the statements one request runs on `side` (a ServiceSet, started and seeded)."""
    counts: dict[str, int] = {}
    for service in dict.fromkeys(COMMANDS.values()):
        plan: Plan = {
            "service": service,
            "skus": skus,
            "customer_id": customer_id,
            "saga_token": saga_token,
            "customer_token": customer_token,
        }
        output = side.run_module(service, "infra.bench.statements", stdin=json.dumps(plan))
        (line,) = [line for line in output.splitlines() if line.startswith(MARK)]
        counts |= json.loads(line.removeprefix(MARK))
    return {command: counts[command] for command in COMMANDS}


def _count_in_this_django(plan: Plan) -> dict[str, int]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    connection.ensure_connection()  # opening the connection is not any command's statement
    counts: dict[str, int] = {}
    for saga in (COMPLETED_SAGA, CANCELLED_SAGA):
        order = BenchOrder(plan["customer_id"], tuple(plan["skus"]), order_id=str(uuid.uuid4()))
        for command in saga:
            if COMMANDS[command] != plan["service"]:
                continue
            path, body = command_request(command, order)
            token = plan["customer_token"] if is_customers(command) else plan["saga_token"]
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
            with CaptureQueriesContext(connection) as statements:
                response = client.post(
                    path, json.dumps(body), content_type="application/json", headers=headers
                )
            if response.status_code >= 300:
                raise RuntimeError(f"{command}: {response.status_code} {response.content[:300]!r}")
            if command == "place":
                order.order_id = response.json()["id"]
            counts.setdefault(command, len(statements))
    return counts


if __name__ == "__main__":
    print(MARK + json.dumps(_count_in_this_django(json.loads(sys.stdin.read()))), flush=True)

"""Each service's behaviour against its own OpenAPI schema, on a live stack: schemathesis sends
the documented examples, boundary cases and generated requests with each caller's token, then runs
stateful sequences along the links between operations (an order placed, read, its saga followed,
cancelled; a product created and read), and every answer must be documented, in the documented
shape, never a 5xx, and a customer's own objects out of another customer's reach. Every check
schemathesis has runs (`--checks all`), and two of this project's (tests/e2e/contract_checks.py).

A stack of its own: the generated requests create products, accounts, orders and reservations
nobody else should meet."""

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.stack import Stack, StackConfig
from observability.logs import parse_line

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CONFIG = Path(__file__).with_name("schemathesis.toml")
SERVICES = ["order_svc", "inventory_svc", "payment_svc", "identity_svc", "notification_svc"]
CALLERS = ["customer", "operator", "saga"]
STATEFUL_EXAMPLES = 130
"""Scenarios of the stateful phase per run: a scenario calls about 0.8 of the linked operations, so
130 of them call each one about 100 times; the test counts the calls in the service's log, and
holds the run to STATEFUL_CALLS_AT_LEAST on each."""
STATEFUL_CALLS_AT_LEAST = 100
STATEFUL_RUNS = [
    ("order_svc", "customer"),
    ("order_svc", "operator"),
    ("inventory_svc", "customer"),
    ("inventory_svc", "operator"),
    ("inventory_svc", "saga"),
    ("payment_svc", "customer"),
    ("payment_svc", "operator"),
    ("payment_svc", "saga"),
    ("notification_svc", "customer"),
    ("notification_svc", "operator"),
]
"""Every caller of a service whose operations link to one another. identity_svc has no such pair
(a user made is read by its own token only), the saga reports on orders it never places, and
notification_svc's only operation of the saga's is the purge."""
# Generated requests come fast: the abuse limits are raised out of their way (429 is still documented).
TUNING = {"THROTTLE_REQUESTS": "1000000/min", "THROTTLE_ORDER_PLACEMENTS": "1000000/min"}


@pytest.fixture(scope="module")
def contract_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("contract-stack"), tuning=TUNING)
    with Stack(config) as running:
        yield running


def tokens(stack: Stack) -> dict[str, str]:
    """A token for each caller, by the name schemathesis knows it by."""
    keys = stack.config.tokens()
    return {
        "customer": keys.customer_token("contract-customer"),
        "other-customer": keys.customer_token("contract-other-customer"),
        "operator": keys.operator_token(),
        "saga": keys.saga_token(),
    }


def identities_file(callers: dict[str, str], directory: Path) -> Path:
    """The callers' tokens in a Web Fuzzing Commons auth file, which schemathesis reads."""
    document = {
        "auth": [
            {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
            for name, token in callers.items()
        ]
    }
    path = directory / "identities.json"
    path.write_text(json.dumps(document))
    return path


def schemathesis_run(
    stack: Stack, service: str, caller: str, directory: Path, *, phases: str, examples: int
) -> Counter[str]:
    """One schemathesis run of `phases` against `service` as `caller`, `examples` per operation (or
    scenarios, statefully), every check on; fails with its report. The requests the service logged
    during the run, by operation id."""
    url = stack.config.service_url(service)
    schema = httpx.get(f"{url}/api/docs/schema.json", timeout=10)
    assert schema.status_code == 200
    log = stack.config.log_dir / f"{service}.log"
    logged_before = log.stat().st_size
    callers = tokens(stack)
    # The saga's operations are the saga's alone (tests/security proves every other caller refused),
    # and the saga calls nothing else.
    operations = ["--include-tag", "saga"] if caller == "saga" else ["--exclude-tag", "saga"]
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            f"{url}/api/docs/schema.json",
            "--url",
            url,
            "--checks",
            "all",
            *operations,
            "--phases",
            phases,
            "--max-examples",
            str(examples),
            "--seed",
            "1",
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--max-failures",
            "20",
            "--report",
            "junit",
            "--report-dir",
            str(directory),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ
        | {
            "NO_COLOR": "1",
            "CONTRACT_IDENTITIES": str(identities_file(callers, directory)),
            "CONTRACT_CALLER": caller,
            "CONTRACT_OTHER_TOKEN": callers["other-customer"],
            "SCHEMATHESIS_HOOKS": "tests.e2e.contract_checks",
        },
        cwd=Path(__file__).parents[2],
    )
    failures = done.stdout.find("FAILURES")
    assert done.returncode == 0, done.stdout[max(failures, 0) :][:12000] + done.stderr[-2000:]
    assert "Test cases:" in done.stdout, done.stdout[-3000:]
    with log.open("rb") as logged:
        logged.seek(logged_before)
        return calls_by_operation(schema.json(), logged.read().decode(errors="replace").splitlines())


def calls_by_operation(schema: dict, log_lines: list[str]) -> Counter[str]:
    """The requests among a service's `log_lines`, counted by the operation of `schema` they called."""
    routes = [
        (
            method.upper(),
            re.compile(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$"),
            operation["operationId"],
        )
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    calls: Counter[str] = Counter()
    for line in map(parse_line, log_lines):
        if line is None or line.get("logger") != "chassis.request":
            continue
        for method, pattern, operation_id in routes:
            if line.get("method") == method and pattern.match(str(line.get("path"))):
                calls[operation_id] += 1
                break
    return calls


def linked_operations(schema: dict, caller: str) -> set[str]:
    """The operations the stateful phase moves between for `caller`: each end of an OpenAPI link,
    within the caller's operations (the saga's tag for the saga, the others for everyone else)."""
    tagged = {
        operation["operationId"]: "saga" in operation.get("tags", [])
        for methods in schema["paths"].values()
        for operation in methods.values()
    }
    ends = set()
    for methods in schema["paths"].values():
        for operation in methods.values():
            for answer in operation.get("responses", {}).values():
                for link in answer.get("links", {}).values():
                    ends |= {operation["operationId"], link["operationId"]}
    return {operation for operation in ends if tagged[operation] == (caller == "saga")}


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("caller", CALLERS)
def test_every_answer_is_documented_and_none_is_a_server_error(contract_stack, service, caller, tmp_path):
    schemathesis_run(
        contract_stack, service, caller, tmp_path, phases="examples,coverage,fuzzing", examples=8
    )


@pytest.mark.parametrize(("service", "caller"), STATEFUL_RUNS)
def test_stateful_sequences_keep_the_contract(contract_stack, service, caller, tmp_path):
    calls = schemathesis_run(
        contract_stack, service, caller, tmp_path, phases="stateful", examples=STATEFUL_EXAMPLES
    )
    schema = httpx.get(
        f"{contract_stack.config.service_url(service)}/api/docs/schema.json", timeout=10
    ).json()
    linked = linked_operations(schema, caller)
    assert linked, "the service's schema links its operations"
    too_few = {
        operation: calls[operation] for operation in linked if calls[operation] < STATEFUL_CALLS_AT_LEAST
    }
    assert not too_few, f"called fewer than {STATEFUL_CALLS_AT_LEAST} times in the stateful run: {too_few}"

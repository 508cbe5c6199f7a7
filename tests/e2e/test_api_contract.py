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
from urllib.parse import urlsplit

import httpx
import pytest

from infra.stack import Stack, StackConfig
from tests.support.api import Api

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CONFIG = Path(__file__).with_name("schemathesis.toml")
SERVICES = ["order_svc", "inventory_svc", "payment_svc", "identity_svc", "notification_svc"]
CALLERS = ["customer", "operator", "saga"]
STATEFUL_CALLS_AT_LEAST = 100
"""Each operation of a stateful run's sequences is called at least this often (counted in
schemathesis's record of what it sent): how far a scenario gets depends on the stack's state (the
orders earlier phases left), so a run that falls short is followed by another with the next seed,
up to STATEFUL_ROUNDS, and the calls add up."""
STATEFUL_ROUNDS = 4
STATEFUL_RUNS = [
    ("order_svc", "customer", 260, ("placeOrder", "getOrder", "getOrderSaga", "requestOrderCancel")),
    ("order_svc", "operator", 340, ("placeOrder", "getOrder", "getOrderSaga", "requestOrderCancel")),
    ("inventory_svc", "operator", 200, ("createProduct", "getProduct", "restockProduct")),
    ("inventory_svc", "saga", 200, ("reserveStock", "commitStock", "releaseStock")),
    ("payment_svc", "operator", 200, ("openAccount", "getAccount", "depositToAccount")),
    ("payment_svc", "saga", 200, ("authorizePayment", "capturePayment", "voidPayment")),
]
"""(service, caller, scenarios, the operations its sequences walk) for every caller who can walk a
service's links: an order placed, read, its saga read, its cancel asked; a product created, read
and restocked; an account opened, read and funded; stock reserved, then committed or released; a
payment authorized, then captured or voided (the last two on the stock and money the test seeds,
tests/e2e/contract_checks.py). A customer can start none of inventory_svc's and payment_svc's
sequences (creating a product or opening an account is an operator's), and identity_svc and
notification_svc link no operation to another; their answers are held to the contract by the
other phases."""
# Generated requests come fast: the abuse limits are raised out of their way (429 is still documented).
TUNING = {"THROTTLE_REQUESTS": "1000000/min", "THROTTLE_ORDER_PLACEMENTS": "1000000/min"}


SEEDED_SKUS = [f"CONTRACT-SKU-{index}" for index in range(4)]
SEEDED_PAYER = "contract-payer"
"""Stock and money for the saga's generated commands to succeed on (tests/e2e/contract_checks.py)."""


@pytest.fixture(scope="module")
def contract_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("contract-stack"), tuning=TUNING)
    with Stack(config) as running:
        api = Api(
            order_url=running.order_url,
            payment_url=running.payment_url,
            inventory_url=running.inventory_url,
            keys=config.tokens(),
        )
        for sku in SEEDED_SKUS:
            api.create_product(sku, on_hand=10**9)
        api.create_account(SEEDED_PAYER, balance_cents=10**12)
        api.close()
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


REQUEST_SECONDS = 20
"""A contract run's request fails when it takes longer than this: by then it hangs."""


def schemathesis_run(
    stack: Stack, service: str, caller: str, directory: Path, *, phases: str, examples: int, seed: int = 1
) -> Counter[str]:
    """One schemathesis run of `phases` against `service` as `caller`, `examples` per operation (or
    scenarios, statefully), every check on; fails with its report. The requests the service logged
    during the run, by operation id."""
    url = stack.config.service_url(service)
    schema = httpx.get(f"{url}/api/docs/schema.json", timeout=10)
    assert schema.status_code == 200
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
            str(seed),
            "--workers",
            "1",
            # How long an answer takes is the bench's to measure, not the contract's: a request fails
            # here only when it hangs (schemathesis's own limit, 10 s, failed a 400 answered in
            # 10.9 s on a host busy with four lanes of tests).
            "--request-timeout",
            str(REQUEST_SECONDS),
            "--max-response-time",
            str(REQUEST_SECONDS),
            "--max-failures",
            "20",
            "--report",
            "junit,har",
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
            "CONTRACT_SKUS": ",".join(SEEDED_SKUS),
            "CONTRACT_PAYER": SEEDED_PAYER,
        },
        cwd=Path(__file__).parents[2],
    )
    failures = done.stdout.find("FAILURES")
    assert done.returncode == 0, done.stdout[max(failures, 0) :][:12000] + done.stderr[-2000:]
    assert "Test cases:" in done.stdout, done.stdout[-3000:]
    (har,) = directory.glob("har-*.json")
    sent = [
        (entry["request"]["method"], entry["request"]["url"])
        for entry in json.loads(har.read_text())["log"]["entries"]
    ]
    return calls_by_operation(schema.json(), sent)


def calls_by_operation(schema: dict, sent: list[tuple[str, str]]) -> Counter[str]:
    """The requests `sent` (method, URL), counted by the operation of `schema` each called."""
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
    for method, url in sent:
        path = urlsplit(url).path
        for route_method, pattern, operation_id in routes:
            if method.upper() == route_method and pattern.match(path):
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


@pytest.mark.parametrize(("service", "caller", "scenarios", "walked"), STATEFUL_RUNS)
def test_stateful_sequences_keep_the_contract(contract_stack, service, caller, scenarios, walked, tmp_path):
    schema = httpx.get(
        f"{contract_stack.config.service_url(service)}/api/docs/schema.json", timeout=10
    ).json()
    assert set(walked) <= linked_operations(schema, caller), (
        "the operations walked are those the schema links"
    )
    calls: Counter[str] = Counter()
    for seed in range(1, STATEFUL_ROUNDS + 1):
        directory = tmp_path / f"seed-{seed}"
        directory.mkdir()
        calls += schemathesis_run(
            contract_stack, service, caller, directory, phases="stateful", examples=scenarios, seed=seed
        )
        if all(calls[operation] >= STATEFUL_CALLS_AT_LEAST for operation in walked):
            break
    too_few = {
        operation: calls[operation] for operation in walked if calls[operation] < STATEFUL_CALLS_AT_LEAST
    }
    assert not too_few, (
        f"called fewer than {STATEFUL_CALLS_AT_LEAST} times in {STATEFUL_ROUNDS} stateful runs: {too_few} ({calls})"
    )

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
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.stack import Stack, StackConfig

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CONFIG = Path(__file__).with_name("schemathesis.toml")
SERVICES = ["order_svc", "inventory_svc", "payment_svc", "identity_svc", "notification_svc"]
CALLERS = ["customer", "operator", "saga"]
STATEFUL_EXAMPLES = 130
"""Scenarios of the stateful phase per run: a scenario calls about 0.8 of the linked operations, so
130 of them call each one about 100 times."""
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
) -> None:
    """One schemathesis run of `phases` against `service` as `caller`, `examples` per operation (or
    scenarios, statefully), every check on; fails with its report."""
    url = stack.config.service_url(service)
    assert httpx.get(f"{url}/api/docs/schema.json", timeout=10).status_code == 200
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


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("caller", CALLERS)
def test_every_answer_is_documented_and_none_is_a_server_error(contract_stack, service, caller, tmp_path):
    schemathesis_run(
        contract_stack, service, caller, tmp_path, phases="examples,coverage,fuzzing", examples=8
    )


@pytest.mark.parametrize(("service", "caller"), STATEFUL_RUNS)
def test_stateful_sequences_keep_the_contract(contract_stack, service, caller, tmp_path):
    schemathesis_run(contract_stack, service, caller, tmp_path, phases="stateful", examples=STATEFUL_EXAMPLES)

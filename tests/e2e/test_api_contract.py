"""Each service's behaviour against its own OpenAPI schema, on a live stack: schemathesis sends
the documented examples and generated requests (a bounded number per operation) with each caller's
token, and every answer must be documented, in the documented shape, and never a 5xx.

A stack of its own: the generated requests create products, accounts, orders and reservations
nobody else should meet."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.stack import Stack, StackConfig

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Generated requests come fast: the abuse limits are raised out of their way (429 is still documented).
TUNING = {"THROTTLE_REQUESTS": "1000000/min", "THROTTLE_ORDER_PLACEMENTS": "1000000/min"}


@pytest.fixture(scope="module")
def contract_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("contract-stack"), tuning=TUNING)
    with Stack(config) as running:
        yield running


def tokens(stack: Stack) -> dict[str, str]:
    keys = stack.config.tokens()
    return {
        "customer": keys.customer_token("contract-customer"),
        "operator": keys.operator_token(),
        "saga": keys.saga_token(),
    }


@pytest.mark.parametrize("service", ["order_svc", "inventory_svc", "payment_svc"])
@pytest.mark.parametrize("caller", ["customer", "operator", "saga"])
def test_every_answer_is_documented_and_none_is_a_server_error(contract_stack, service, caller, tmp_path):
    url = contract_stack.config.service_url(service)
    assert httpx.get(f"{url}/api/docs/schema.json", timeout=10).status_code == 200
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}/api/docs/schema.json",
            "--url",
            url,
            "--checks",
            CHECKS,
            "--max-examples",
            "8",
            "--phases",
            "examples,fuzzing",
            "--seed",
            "1",
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--max-failures",
            "20",
            "-H",
            f"Authorization: Bearer {tokens(contract_stack)[caller]}",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"NO_COLOR": "1"},
    )
    failures = done.stdout.find("FAILURES")
    assert done.returncode == 0, done.stdout[max(failures, 0) :][:12000] + done.stderr[-2000:]

"""A rollout on the real dev server, as docs/temporal.md walks through it: with sagas of the stack's
worker (v1) in flight, a worker of a changed saga (v2, tests/e2e/saga_v2.py) starts beside it, is
ramped, the ramp stopped, then promoted, rolled back and promoted again, each move made with
`sagactl rollout`; v1 drains and is retired.

The sagas in flight are held at their authorization by an injected outage of payment_svc, so that
they are still open through every move. What must hold: each saga runs to its end on the version it
started on, and its history shows that version's commands; the ramp splits new sagas; after a
promote every new saga runs v2, after the rollback v1; the server reports v1 drained once its sagas
are done, and nothing needs it after it stops.
"""

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from infra.stack import Deployment, Stack, StackConfig, rollout_worker, worker_version
from infra.stack.deployment import CLI_TIMEOUT_SECONDS, PATIENCE_SECONDS, ROUTING_SECONDS
from saga_contract import NAMESPACE, workflow_id
from tests.e2e.saga_v2 import V2_MARK
from tests.support.api import Api, unique
from tests.support.waiting import wait_for

pytestmark = pytest.mark.any_database

SAGACTL = Path(sys.executable).parent / "sagactl"
TUNING = {"BREAKER_FAIL_MAX": "3", "BREAKER_RESET_SECONDS": "1"}
V2 = "v2-rollout-test"
AUTHORIZE = "/internal/v1/payments/authorize"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("rollout-stack"), chaos=True, tuning=TUNING)
    with Stack(config) as running:
        yield running


def saga_versions(stack: Stack, order_ids: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Per order: the build id its saga is pinned to, and the summaries of the activities it scheduled."""

    async def read() -> dict[str, tuple[str, list[str]]]:
        client = await Client.connect(stack.temporal_address, namespace=NAMESPACE)
        found = {}
        for order_id in order_ids:
            handle = client.get_workflow_handle(workflow_id(order_id))
            described = await handle.describe()
            version = described.raw_description.workflow_execution_info.versioning_info
            summaries = [
                json.loads(event.user_metadata.summary.data)
                async for event in handle.fetch_history_events()
                if event.HasField("activity_task_scheduled_event_attributes")
            ]
            found[order_id] = (version.deployment_version.build_id, summaries)
        return found

    return asyncio.run(read())


def test_a_rollout_keeps_every_saga_on_its_version_and_retires_the_old_one_once_drained(
    stack: Stack, request: pytest.FixtureRequest
):
    deployment = Deployment(stack.temporal_address)
    v1 = worker_version(stack.config, stack.processes["worker"].pid)
    assert v1 is not None
    state = deployment.state()
    assert state is not None
    assert state.current == v1, "sagactl up makes its worker's version current"

    operator = {"Authorization": f"Bearer {stack.config.tokens().operator_token()}"}
    outage = {"error_rate": 1.0, "paths": [AUTHORIZE]}
    assert httpx.put(f"{stack.payment_url}/api/v1/faults", json=outage, headers=operator).status_code == 200
    v2_worker = rollout_worker(stack.config, V2, module="tests.e2e.saga_v2")
    request.addfinalizer(v2_worker.stop)  # however the test ends, even before the drain's `finally`
    with Api.for_stack(stack) as api:
        sku = api.create_product(on_hand=1_000)["sku"]
        customer = api.create_account(unique("rollout"), balance_cents=1_000_000)["customer_id"]

        def place(count: int) -> list[str]:
            return [api.place_order(customer, {sku: 1})["id"] for _ in range(count)]

        try:
            in_flight = place(3)
            v2_worker.start()
            v2_worker.wait_ready(stack.config.startup_timeout)

            # Each move as an operator makes it (docs/temporal.md), on the command line.
            move(stack, "ramp", V2, "50")
            assert deployment.state().role(V2) == "ramping 50%"
            ramped = place(16)
            move(stack, "stop-ramp")
            unramped = place(2)
            move(stack, "promote", V2)
            promoted = place(3)
            move(stack, "promote", v1)  # the rollback: v1's workers still run
            rolled_back = place(3)
            move(stack, "promote", V2)
            again = place(2)
        finally:
            httpx.delete(f"{stack.payment_url}/api/v1/faults", headers=operator)
        everything = [*in_flight, *ramped, *unramped, *promoted, *rolled_back, *again]
        for order_id in everything:
            assert api.wait_for_final(order_id, timeout=90)["status"] == "CONFIRMED"

    versions = saga_versions(stack, everything)
    v1_summaries = versions[in_flight[0]][1]
    for order_id in everything:
        build_id, summaries = versions[order_id]
        marked = [summary for summary in summaries if summary.endswith(V2_MARK)]
        if build_id == v1:
            assert marked == [], f"a v1 saga ran v1's commands only: {summaries}"
        else:
            assert build_id == V2
            assert [summary.removesuffix(V2_MARK) for summary in summaries] == v1_summaries
            assert len(marked) == 5, "every forward step carries v2's summary"
    assert {versions[order_id][0] for order_id in in_flight} == {v1}, "sagas in flight finish on v1"
    assert set(Counter(versions[order_id][0] for order_id in ramped)) == {v1, V2}, "the ramp splits"
    assert {versions[order_id][0] for order_id in promoted + again} == {V2}
    assert {versions[order_id][0] for order_id in unramped + rolled_back} == {v1}

    try:
        assert deployment.wait_drained(v1, timeout=60), "v1 drains once its last saga is done"
        stack.processes["worker"].stop()  # retired: only v2 serves from here on
        with Api.for_stack(stack) as api:
            after = api.place_order(customer, {sku: 1})["id"]
            assert api.wait_for_final(after, timeout=60)["status"] == "CONFIRMED"
        assert saga_versions(stack, [after])[after][0] == V2
        wait_for(lambda: deployment.state().role(v1) == "drained", 10, "v1 reported drained")

        # What an operator types: the table and the drain check.
        status = sagactl(stack, "rollout", "status")
        assert status.returncode == 0, status.stderr
        rows = dict(line.split() for line in status.stdout.splitlines()[1:])
        assert rows == {V2: "current", v1: "drained"}
        assert sagactl(stack, "rollout", "drained", v1).returncode == 0
        not_drained = sagactl(stack, "rollout", "drained", V2)
        assert (not_drained.returncode, not_drained.stdout) == (
            1,
            f"{V2} is not drained: keep its workers running\n",
        )
    finally:
        v2_worker.stop()


def move(stack: Stack, *args: str) -> None:
    """`sagactl rollout <args>`, which returns once the new routing is everywhere."""
    moved = sagactl(stack, "rollout", *args)
    assert moved.returncode == 0, moved.stderr


# A move's own bounds: its retries while the server does not know the version yet, one CLI call,
# and the wait for the routing to reach every partition. A busy server takes seconds for the last;
# the test gives the command all of its own time and a margin, and lets it fail by itself.
MOVE_TIMEOUT_SECONDS = PATIENCE_SECONDS + 2 * CLI_TIMEOUT_SECONDS + ROUTING_SECONDS + 30


def sagactl(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    ports = {"TEMPORAL_PORT": str(stack.config.temporal_port), "SAGA_VAR_DIR": str(stack.config.var_dir)}
    return subprocess.run(
        [str(SAGACTL), *args],
        capture_output=True,
        text=True,
        timeout=MOVE_TIMEOUT_SECONDS,
        env=os.environ | ports,
    )

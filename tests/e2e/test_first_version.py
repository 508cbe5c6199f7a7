"""A deployment's first worker makes its own version current, and no later worker does.

A deployment started by compose or Kubernetes has no `sagactl up` to make its worker's version
current, and until some version is current a new saga has no worker to run on. So a worker whose
deployment has no current version makes its own current; once one is, only a rollout moves it.
Real dev server, real worker processes.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.stack import Deployment, StackConfig, rollout_worker
from infra.stack.process import log_lines
from tests.support.dev_server import dev_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.any_database

FIRST, SECOND = "first-1", "second-2"


def known_versions(deployment: Deployment) -> set[str]:
    state = deployment.state()
    return {version.build_id for version in state.versions} if state else set()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StackConfig]:
    with dev_server(tmp_path) as config:
        yield config


def test_the_first_worker_becomes_current_and_a_later_one_waits_for_a_rollout(server: StackConfig) -> None:
    deployment = Deployment(server.temporal_address)
    assert deployment.state() is None, "a new server knows no deployment"

    first = rollout_worker(server, FIRST)
    first.start()
    try:
        wait_for(
            lambda: (state := deployment.state()) is not None and state.current == FIRST,
            timeout=60,
            what="the first worker's version to become current",
            interval=0.5,
        )
        second = rollout_worker(server, SECOND)
        second.start()
        try:
            wait_for(
                lambda: SECOND in known_versions(deployment),
                timeout=60,
                what="the server to know the second worker's version",
                interval=0.5,
            )
            wait_for(
                lambda: any("waits for a rollout" in line for line in log_lines(second.log_path)),
                timeout=30,
                what="the second worker to find a current version",
                interval=0.5,
            )
            state = deployment.state()
            assert state is not None
            assert state.current == FIRST, "a worker never takes over from a current version"
            assert state.ramping is None
        finally:
            second.stop()
    finally:
        first.stop()

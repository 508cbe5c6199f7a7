"""A Temporal dev server of a test's own, started as the stack starts it (the same dynamic config and
search attributes) on free ports, and workers of one version of the saga's Worker Deployment made
current there. For tests that need the real server but not the services: task priorities, an
operator's CLI commands.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from temporalio.common import WorkerDeploymentVersion
from temporalio.worker import WorkerDeploymentConfig

from infra.stack import Deployment, StackConfig, temporal_server
from saga_contract import WORKER_DEPLOYMENT

STARTUP_SECONDS = 60
TEST_BUILD_ID = "test-1"


@contextmanager
def dev_server(var_dir: Path, *extra_args: str) -> Iterator[StackConfig]:
    """Run the dev server while the block runs; `extra_args` go to `temporal server start-dev`.
    The config's `temporal_address` is where it answers."""
    config = StackConfig.on_free_ports(var_dir)
    server = temporal_server(config)
    server.argv.extend(extra_args)
    server.start()
    try:
        server.wait_ready(STARTUP_SECONDS)
        yield config
    finally:
        server.stop()


def versioned() -> WorkerDeploymentConfig:
    """The deployment config of every worker a test runs: OrderSaga is pinned to a version, and its
    activities go to the workers of that version."""
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(WORKER_DEPLOYMENT, TEST_BUILD_ID), use_worker_versioning=True
    )


async def make_current(address: str, timeout: float = 30) -> None:
    """Make the test version current, so new sagas start on it; the server refuses until a worker of
    that version has polled."""
    await asyncio.to_thread(Deployment(address).promote, TEST_BUILD_ID, patience=timeout)

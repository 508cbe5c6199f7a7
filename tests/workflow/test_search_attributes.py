"""`python -m orchestrator.search_attributes` adds what a namespace lacks and nothing twice (the
session's server got them from it already, in conftest)."""

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from orchestrator.search_attributes import register
from saga_contract import NAMESPACE, SEARCH_ATTRIBUTE_TYPES

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_registering_again_adds_nothing_and_every_attribute_is_there(env: WorkflowEnvironment) -> None:
    assert await register(env.client, NAMESPACE) == []
    listed = await env.client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=NAMESPACE))
    assert set(SEARCH_ATTRIBUTE_TYPES) <= set(listed.custom_attributes)

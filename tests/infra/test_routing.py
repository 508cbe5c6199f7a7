"""Deployment.wait_routed asks in a child process; what the child could not learn reaches the caller
as a DeploymentError with the child's reason. Waiting on a real routing is exercised by every move
in tests/e2e/test_rollout.py and by every stack's start."""

import pytest

from infra.stack import HOST, Deployment, free_ports
from infra.stack.deployment import DeploymentError

pytestmark = pytest.mark.any_database  # no stack, no database


def test_a_server_that_cannot_be_reached_is_a_deployment_error_with_the_childs_reason() -> None:
    (port,) = free_ports(1)

    with pytest.raises(DeploymentError, match=r"Failed client connect.*Connection refused"):
        Deployment(f"{HOST}:{port}").wait_routed(timeout=5)

"""Deployment.wait_routed's child process: ``python -m infra.stack.routing ADDRESS NAMESPACE NAME TIMEOUT``.

Waits until the Worker Deployment NAME's latest routing has reached every partition of its task
queue, asking the server through the Temporal SDK every 0.1 s, and exits 0; or prints why not and
exits 1 after TIMEOUT seconds. It leaves through os._exit: temporalio's threads can crash an
interpreter as it exits.
"""

import asyncio
import os
import sys
import time

from temporalio.api.enums.v1 import RoutingConfigUpdateState
from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentRequest
from temporalio.client import Client


async def _routed(address: str, namespace: str, name: str, timeout: float) -> None:
    """Ask the server every 0.1 s until the deployment's routing has reached every partition."""
    completed = RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED
    request = DescribeWorkerDeploymentRequest(namespace=namespace, deployment_name=name)
    client = await Client.connect(address, namespace=namespace)
    deadline = time.monotonic() + timeout
    while (
        state := (
            await client.workflow_service.describe_worker_deployment(request)
        ).worker_deployment_info.routing_config_update_state
    ) != completed:
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"the routing of {name} still {RoutingConfigUpdateState.Name(state)} after {timeout:g} s"
            )
        await asyncio.sleep(0.1)


if __name__ == "__main__":
    try:
        asyncio.run(_routed(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
        code = 0
    except Exception as error:  # its message becomes the parent's DeploymentError
        print(error, file=sys.stderr, flush=True)
        code = 1
    os._exit(code)

"""Entry point of the orchestrator worker: ``python -m orchestrator.worker``.

Connects to Temporal, serves the OrderSaga workflow and its activities on the task queue until
SIGINT/SIGTERM, and logs JSON lines. Nothing runs at import; the process leaves through os._exit.
"""

import asyncio
import logging
import os
import signal
import sys
from datetime import timedelta

from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from temporalio import activity, workflow
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import Worker, WorkerDeploymentConfig
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_delay,
    stop_when_event_set,
    wait_fixed,
)

from observability.logs import configure_logging
from observability.tracing import start_tracing, stop_tracing, temporal_tracing_plugins
from orchestrator.activities import SagaActivities
from orchestrator.auth import ClientCredentialsTokens, TokenSource, token_source
from orchestrator.breakers import ServiceBreaker
from orchestrator.bytecode import compile_orchestrator
from orchestrator.clients import ServiceClient
from orchestrator.config import IdentitySettings, OrchestratorSettings, load_settings
from orchestrator.metrics import BreakerStateGauge, start_at_zero
from orchestrator.operations import AuditRun, IdempotencyPurge
from orchestrator.operations_activities import scheduled_operations
from orchestrator.workflows import OrderSaga
from saga_contract import SAGA_SERVICES, WORKER_DEPLOYMENT

logger = logging.getLogger("orchestrator.worker")

_CONNECT_PATIENCE_SECONDS = 30
_GRACEFUL_SHUTDOWN = timedelta(seconds=10)
_FIRST_VERSION_PATIENCE_SECONDS = 60  # a new version is known to the server a moment after it polls


def _configure_logging() -> None:
    configure_logging("worker", stream=sys.stdout)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # activities log their calls with ids
    # The JSON line carries the Temporal context as fields, not appended to the message.
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False


def _runtime(settings: OrchestratorSettings) -> Runtime:
    """Temporal's runtime, serving its metrics and the saga's on settings.metrics_address."""
    if settings.metrics_address is None:
        return Runtime.default()
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=settings.metrics_address, durations_as_seconds=True)
        )
    )


async def _connect(settings: OrchestratorSettings, stop: asyncio.Event, runtime: Runtime) -> Client:
    """Connect to Temporal, waiting up to half a minute for a server that is still starting."""

    def log_wait(_: object) -> None:
        logger.warning(
            "Temporal at %s not reachable yet, retrying (up to %d s)",
            settings.temporal_address,
            _CONNECT_PATIENCE_SECONDS,
        )

    retrying = AsyncRetrying(
        # tenacity's event stop only calls is_set(), which an asyncio.Event has too.
        stop=stop_after_delay(_CONNECT_PATIENCE_SECONDS) | stop_when_event_set(stop),  # type: ignore[arg-type]
        wait=wait_fixed(1),
        retry=retry_if_exception_type(RuntimeError),
        before_sleep=log_wait,
        reraise=True,
    )
    return await retrying(
        Client.connect,
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        runtime=runtime,
        plugins=temporal_tracing_plugins(),  # the worker built on this client takes them up too
    )


def _token_source(identity: IdentitySettings) -> TokenSource:
    """The worker's service identity: client credentials at the identity provider."""
    logger.info("service tokens from %s (client %s)", identity.token_url, identity.client_id)
    return token_source(identity)


async def become_current_if_none(
    client: Client, build_id: str, stop: asyncio.Event, *, patience: float, pause: float = 1.0
) -> bool:
    """Make `build_id` the deployment's current version if it has none yet (its first deployment),
    so that new sagas start somewhere; a deployment that has a current version is left to its
    rollouts. True when this call made it current. The server knows a version a moment after its
    worker first polls, so this asks again every `pause` seconds, for up to `patience` seconds."""
    namespace = client.namespace
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            described = await client.workflow_service.describe_worker_deployment(
                DescribeWorkerDeploymentRequest(namespace=namespace, deployment_name=WORKER_DEPLOYMENT)
            )
            current = described.worker_deployment_info.routing_config.current_deployment_version
            if current.build_id:
                if current.build_id != build_id:
                    logger.info(
                        "version %s is current; this worker's %s waits for a rollout",
                        current.build_id,
                        build_id,
                    )
                return False
            await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=namespace,
                    deployment_name=WORKER_DEPLOYMENT,
                    build_id=build_id,
                    conflict_token=described.conflict_token,
                    identity=client.identity,
                )
            )
            logger.info("the deployment had no current version: version %s is current now", build_id)
            return True
        except RPCError as error:  # not known yet (no poll seen), or another worker moved it first
            if asyncio.get_running_loop().time() >= deadline:
                logger.warning("could not make version %s current: %s", build_id, error)
                return False
        try:
            await asyncio.wait_for(stop.wait(), timeout=pause)
            return False
        except TimeoutError:
            continue


async def _serve(settings: OrchestratorSettings, saga: type[OrderSaga]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    runtime = _runtime(settings)
    start_at_zero(runtime.metric_meter)
    try:
        client = await _connect(settings, stop, runtime)
    except RuntimeError as error:
        if stop.is_set():
            logger.info("stop signal received before Temporal was reachable")
            return 0
        logger.error("cannot connect to Temporal at %s: %s", settings.temporal_address, error)
        return 1

    # One identity, and one client and one breaker per downstream service, for the life of the process.
    tokens = _token_source(settings.identity)
    services = [
        ServiceClient(
            name,
            url,
            tokens=tokens,
            breaker=ServiceBreaker(
                name, settings.breakers, listeners=[BreakerStateGauge(runtime.metric_meter, name)]
            ),
        )
        for name, url in zip(
            SAGA_SERVICES,
            (settings.inventory_svc_url, settings.payment_svc_url, settings.order_svc_url),
            strict=True,
        )
    ]
    inventory, payment, orders = services
    activities = SagaActivities(inventory=inventory, payment=payment, orders=orders)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[saga, AuditRun, IdempotencyPurge],
        activities=[*activities.all(), *scheduled_operations(settings, services).all()],
        graceful_shutdown_timeout=_GRACEFUL_SHUTDOWN,
        # One version of the deployment; which sagas it gets is the server's routing (docs/temporal.md).
        deployment_config=WorkerDeploymentConfig(
            version=WorkerDeploymentVersion(deployment_name=WORKER_DEPLOYMENT, build_id=settings.build_id),
            use_worker_versioning=True,
        ),
    )
    try:
        async with worker:
            logger.info(
                "worker %s of deployment %s serving task queue %r on %s (namespace %r)",
                settings.build_id,
                WORKER_DEPLOYMENT,
                settings.task_queue,
                settings.temporal_address,
                settings.temporal_namespace,
            )
            first_version = asyncio.create_task(
                become_current_if_none(
                    client, settings.build_id, stop, patience=_FIRST_VERSION_PATIENCE_SECONDS
                )
            )
            await stop.wait()
            logger.info("stop signal received, shutting down")
            first_version.cancel()
    finally:
        for service in services:
            await service.aclose()
        if isinstance(tokens, ClientCredentialsTokens):
            await tokens.aclose()
    logger.info("worker stopped")
    return 0


def main(saga: type[OrderSaga] = OrderSaga) -> None:
    """Run the worker until a stop signal. `saga` is the OrderSaga class it serves: a test of a
    rollout passes a changed one, as a new version of the code would bring."""
    _configure_logging()
    try:
        settings = load_settings()
        compile_orchestrator()
        start_tracing("worker", settings.tracing, runs_workflows=True)
        # Each call of httpx's own transport a client span, its context sent along (the identity
        # provider's token calls); the saga's calls get theirs from their transport (connections.py).
        HTTPXClientInstrumentor().instrument()
        code = asyncio.run(_serve(settings, saga))
    except Exception:
        logger.exception("worker crashed")
        code = 1
    stop_tracing()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # temporalio can crash at interpreter exit (PyGILState_Release); leave before it runs.
    os._exit(code)


if __name__ == "__main__":
    main()

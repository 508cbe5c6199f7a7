"""The saga traced by Temporal's OpenTelemetryPlugin, as the worker traces it: the workflow's span
lasts from its first task to its end and holds every step's spans, each span is exported once even
when the worker replays the history at every task, and a replay exports nothing again.

Tracing starts once for the whole test process (OpenTelemetry takes one global provider), as the
worker's: replay-safe, JSON lines in a folder of the session's own.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from opentelemetry import trace
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from observability.tracing import (
    TracingSettings,
    read_spans,
    span_tree,
    start_tracing,
    temporal_tracing_plugins,
)
from orchestrator.workflows import OrderSaga
from saga_contract import WORKFLOW_TYPE, OrderSagaInput, workflow_id
from tests.workflow.event_history import DIRECTORY, load
from tests.workflow.fakes import TRANSIENT, FakeSagaServices

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEPS = ["reserve_stock", "authorize_payment", "capture_payment", "commit_stock", "confirm_order"]


@dataclass(frozen=True)
class WorkerTracing:
    directory: Path
    provider: ReplaySafeTracerProvider

    def spans(self) -> list[dict[str, Any]]:
        """Every span written so far, once everything buffered is written."""
        assert self.provider.force_flush()
        return list(read_spans(self.directory))


@pytest.fixture(scope="session")
def tracing(tmp_path_factory: pytest.TempPathFactory) -> WorkerTracing:
    directory = tmp_path_factory.mktemp("traces")
    provider = start_tracing("worker", TracingSettings(traces_dir=directory), runs_workflows=True)
    assert isinstance(provider, ReplaySafeTracerProvider)
    assert trace.get_tracer_provider() is provider, "another provider was installed first"
    return WorkerTracing(directory, provider)


@pytest_asyncio.fixture(loop_scope="session")
async def traced_client(env: WorkflowEnvironment, tracing: WorkerTracing) -> AsyncIterator[Client]:
    plugins = temporal_tracing_plugins()
    assert plugins, "tracing started, so Temporal is traced"
    yield Client(**{**env.client.config(), "plugins": plugins})


def saga_spans(tracing: WorkerTracing, saga_id: str) -> list[dict[str, Any]]:
    """The spans of the trace that started `saga_id`, by start time."""
    spans = tracing.spans()
    (trace_id,) = {
        span["trace_id"]
        for span in spans
        if span["name"] == f"StartWorkflow:{WORKFLOW_TYPE}"
        and span["attributes"].get("temporalWorkflowID") == saga_id
    }
    return sorted((span for span in spans if span["trace_id"] == trace_id), key=lambda s: s["start_ns"])


async def run_traced_saga(
    client: Client, fake: FakeSagaServices, **worker_options: Any
) -> WorkflowHandle[Any, Any]:
    """Start the saga within a span of the caller's (as the outbox relay does) and wait for its end."""
    order_id = str(uuid.uuid4())
    task_queue = f"orders-{uuid.uuid4()}"
    saga = OrderSagaInput(order_id, "cust-1", [{"sku": "SKU-RED", "quantity": 1}])
    async with Worker(
        client, task_queue=task_queue, workflows=[OrderSaga], activities=fake.all(), **worker_options
    ):
        with trace.get_tracer(__name__).start_as_current_span("outbox relay: start saga"):
            handle = await client.start_workflow(
                WORKFLOW_TYPE, saga.as_payload(), id=workflow_id(order_id), task_queue=task_queue
            )
        result = await handle.result()
    assert result["status"] == "CONFIRMED"
    return handle


def the_workflow_span_holds_every_step(spans: list[dict[str, Any]], attempts: list[str]) -> dict[str, Any]:
    """The workflow's span, once it is shown to hold a scheduling span for each step and, under it,
    a span for each attempt of the step, and every span is shown to be exported once."""
    names = [(depth, span["name"]) for depth, span in span_tree(spans)]
    expected = [
        (0, "outbox relay: start saga"),
        (1, f"StartWorkflow:{WORKFLOW_TYPE}"),
        (2, f"RunWorkflow:{WORKFLOW_TYPE}"),
    ]
    for step in STEPS:
        expected.append((3, f"StartActivity:{step}"))
        expected.extend((4, f"RunActivity:{step}") for attempt in attempts if attempt == step)
    assert names == expected

    assert len({span["span_id"] for span in spans}) == len(spans)
    (workflow,) = [span for span in spans if span["name"] == f"RunWorkflow:{WORKFLOW_TYPE}"]
    assert workflow["service"] == "worker"
    return workflow


def step_runs(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [span for span in spans if span["name"].startswith("RunActivity:")]


async def test_the_workflow_span_lasts_from_its_start_to_its_end_and_holds_every_step(
    traced_client: Client, tracing: WorkerTracing
) -> None:
    fake = FakeSagaServices(script={"capture_payment": [TRANSIENT]})
    handle = await run_traced_saga(traced_client, fake)

    spans = saga_spans(tracing, handle.id)
    workflow = the_workflow_span_holds_every_step(spans, fake.calls)
    assert fake.calls.count("capture_payment") == 2  # each attempt a RunActivity span of its own
    steps = step_runs(spans)
    assert workflow["start_ns"] <= min(step["start_ns"] for step in steps)
    assert workflow["end_ns"] >= max(step["end_ns"] for step in steps)
    assert workflow["end_ns"] - workflow["start_ns"] >= sum(
        step["end_ns"] - step["start_ns"] for step in steps
    )


async def test_a_worker_that_replays_at_every_task_exports_each_span_once(
    traced_client: Client, tracing: WorkerTracing
) -> None:
    """With no workflow cache, every task replays the history from its start: the workflow's span
    is begun again each time, with the same id, and only ended, and exported, at the end. Begun in
    a replay, it starts at the workflow's clock, the time its history gives its first task (here the
    test server's skipped clock), not at the worker's."""
    fake = FakeSagaServices()
    handle = await run_traced_saga(traced_client, fake, max_cached_workflows=0)

    spans = saga_spans(tracing, handle.id)
    workflow = the_workflow_span_holds_every_step(spans, fake.calls)
    first_task, *_ = [
        event
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    ]
    assert workflow["start_ns"] == first_task.event_time.ToNanoseconds()
    assert workflow["end_ns"] >= max(step["end_ns"] for step in step_runs(spans))


@pytest.mark.parametrize(
    "path", [DIRECTORY / "confirmed.json", DIRECTORY / "customer_cancel_before_pivot.json"]
)
async def test_a_replay_with_the_plugin_passes_and_exports_nothing(
    tracing: WorkerTracing, path: Path
) -> None:
    before = tracing.spans()

    await Replayer(workflows=[OrderSaga], plugins=temporal_tracing_plugins()).replay_workflow(load(path))

    assert tracing.spans() == before

"""The Temporal Schedules of the system's periodic work: the audit (every few minutes) and the purge of
expired idempotency records (hourly), each started as a short workflow on the saga's task queue.

`ensure_schedules` creates both, or updates them to the wanted settings when they exist (a stack
started again, a changed interval), keeping whether an operator paused one. The stack runs it once
its worker is up, in a short child process of its own (`schedules_setup`), so that sagactl itself
never loads the Temporal SDK (which can crash a process at exit).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta

from infra.stack.config import StackConfig
from infra.stack.process import ManagedProcess
from infra.stack.processes import _child_env
from observability.tracing import temporal_tracing_plugins
from saga_contract import (
    AUDIT_SCHEDULE_ID,
    AUDIT_WORKFLOW_TYPE,
    IDEMPOTENCY_PURGE_EVERY_SECONDS,
    IDEMPOTENCY_PURGE_SCHEDULE_ID,
    IDEMPOTENCY_PURGE_WORKFLOW_TYPE,
    NAMESPACE,
    TASK_QUEUE,
)

RUN_TIMEOUT = timedelta(minutes=15)
"""A run that has not ended after this long (no worker, say) is given up, so that the next one,
which the schedule skips while one is running, can start."""
AUDIT_CATCHUP = timedelta(minutes=1)
"""A stack that was down does not make up for the audits it missed: the next one audits everything."""
BACKGROUND_PRIORITY_KEY = 5
"""The runs' task priority: after every saga step (orchestrator/policies.py keeps 4 and 5 for such work)."""


@dataclass(frozen=True)
class ScheduledWorkflow:
    schedule_id: str
    workflow_type: str
    every: timedelta
    catchup: timedelta
    note: str


def wanted_schedules(audit_every_seconds: int) -> list[ScheduledWorkflow]:
    purge_every = timedelta(seconds=IDEMPOTENCY_PURGE_EVERY_SECONDS)
    return [
        ScheduledWorkflow(
            AUDIT_SCHEDULE_ID,
            AUDIT_WORKFLOW_TYPE,
            timedelta(seconds=audit_every_seconds),
            AUDIT_CATCHUP,
            "Audits money, stock, liveness and exactly-once (docs/temporal.md#schedules)",
        ),
        ScheduledWorkflow(
            IDEMPOTENCY_PURGE_SCHEDULE_ID,
            IDEMPOTENCY_PURGE_WORKFLOW_TYPE,
            purge_every,
            purge_every,  # one missed purge is made up when the stack is back, no more
            "Deletes the idempotency records older than each service's retention (docs/temporal.md#schedules)",
        ),
    ]


async def ensure_schedules(
    address: str,
    *,
    audit_every_seconds: int,
    paused: bool = False,
    namespace: str = NAMESPACE,
    task_queue: str = TASK_QUEUE,
) -> None:
    """Create the audit and purge schedules, or bring existing ones to these settings. A schedule that
    exists keeps its paused state; `paused` applies to a schedule created now."""
    from temporalio.client import (
        Client,
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleAlreadyRunningError,
        ScheduleIntervalSpec,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleSpec,
        ScheduleState,
        ScheduleUpdate,
        ScheduleUpdateInput,
    )
    from temporalio.common import Priority

    client = await Client.connect(address, namespace=namespace, plugins=temporal_tracing_plugins())
    for wanted in wanted_schedules(audit_every_seconds):
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                wanted.workflow_type,
                id=wanted.schedule_id,  # each run's id is this, then the time it was due
                task_queue=task_queue,
                execution_timeout=RUN_TIMEOUT,
                priority=Priority(priority_key=BACKGROUND_PRIORITY_KEY),
            ),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=wanted.every)]),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=wanted.catchup),
            state=ScheduleState(note=wanted.note, paused=paused),
        )
        try:
            await client.create_schedule(wanted.schedule_id, schedule)
            continue
        except ScheduleAlreadyRunningError:
            pass

        def keep_state(current: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
            schedule.state = current.description.schedule.state
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(wanted.schedule_id).update(keep_state)


def schedules_setup(config: StackConfig) -> ManagedProcess:
    """The one-shot process that runs `main` against the stack's Temporal."""
    argv = [
        sys.executable,
        "-c",
        "from infra.stack.schedules import main; main()",  # not -m: the package has imported this module
        "--address",
        config.temporal_address,
        "--audit-every-seconds",
        str(config.audit_every_seconds),
    ]
    if config.schedules_paused:
        argv.append("--paused")
    return ManagedProcess(
        "schedules", argv, cwd=config.root, env=_child_env(), log_path=config.log_dir / "schedules.log"
    )


def set_up_schedules(config: StackConfig, *, cancel: threading.Event | None = None) -> None:
    """Create or update the stack's schedules; StackError when that fails (its log says why)."""
    process = schedules_setup(config)
    process.start()
    try:
        if process.wait_exit(config.startup_timeout, cancel=cancel) != 0:
            raise process.failure(process.exit_description())
    finally:
        process.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="infra.stack.schedules", description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--audit-every-seconds", type=int, required=True)
    parser.add_argument("--paused", action="store_true")
    args = parser.parse_args(argv)
    code = 0
    try:
        asyncio.run(
            ensure_schedules(args.address, audit_every_seconds=args.audit_every_seconds, paused=args.paused)
        )
        print(f"schedules {AUDIT_SCHEDULE_ID!r} and {IDEMPOTENCY_PURGE_SCHEDULE_ID!r} are set", flush=True)
    except Exception as error:
        print(f"cannot set up the schedules: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # a process that used temporalio can crash at interpreter exit


if __name__ == "__main__":
    main()

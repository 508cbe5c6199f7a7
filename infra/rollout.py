"""`sagactl rollout`: ship a new version of the orchestrator worker without touching a saga in flight.

Each saga is pinned to the worker version it started on. A rollout starts workers of the new version
beside the old ones (`worker`), sends a share of new sagas to it (`ramp`), makes it the version every
new saga starts on (`promote`), and stops the old workers only once the server reports their version
drained (`drained`). Rolling back is promoting the old version again while its workers still run.
docs/temporal.md walks through it; every move is also a `temporal worker deployment` command.
"""

from __future__ import annotations

import argparse
import re
import signal
import threading

from infra.stack import (
    Deployment,
    DeploymentError,
    StackConfig,
    free_ports,
    rollout_worker,
)
from orchestrator.versioning import code_build_id
from saga_contract import BUILD_ID_PATTERN, WORKER_DEPLOYMENT

_BUILD_ID = re.compile(BUILD_ID_PATTERN)


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `sagactl rollout` on sagactl's subcommands."""
    rollout = commands.add_parser(
        "rollout", help=f"roll out a new version of the worker (Worker Deployment {WORKER_DEPLOYMENT!r})"
    )
    moves = rollout.add_subparsers(required=True, metavar="MOVE")

    status = moves.add_parser("status", help="each version: current, ramping, draining, drained")
    status.set_defaults(run=_status)

    worker = moves.add_parser(
        "worker",
        help="run a worker of this checkout's code beside the stack's until Ctrl-C (its version is "
        "derived from the code unless --build-id names it)",
    )
    worker.add_argument("--build-id", type=_build_id, metavar="ID")
    worker.set_defaults(run=_worker)

    ramp = moves.add_parser("ramp", help="start PERCENT of new sagas on BUILD_ID, the rest on the current")
    ramp.add_argument("build_id", type=_build_id, metavar="BUILD_ID")
    ramp.add_argument("percent", type=_percent, metavar="PERCENT")
    ramp.set_defaults(run=_ramp)

    stop_ramp = moves.add_parser("stop-ramp", help="start every new saga on the current version again")
    stop_ramp.set_defaults(run=_stop_ramp)

    promote = moves.add_parser(
        "promote",
        help="start every new saga on BUILD_ID (also the way back: promote the old version while its "
        "workers still run)",
    )
    promote.add_argument("build_id", type=_build_id, metavar="BUILD_ID")
    promote.set_defaults(run=_promote)

    drained = moves.add_parser(
        "drained", help="exit 0 once no saga pinned to BUILD_ID is open (its workers may stop), else 1"
    )
    drained.add_argument("build_id", type=_build_id, metavar="BUILD_ID")
    drained.add_argument(
        "--wait", type=float, default=0.0, metavar="S", help="keep asking for up to S seconds"
    )
    drained.set_defaults(run=_drained)


def _deployment() -> Deployment:
    return Deployment(StackConfig.from_env().temporal_address)


def _status(_: argparse.Namespace) -> int:
    state = _deployment().state()
    if state is None:
        print(f"no worker of deployment {WORKER_DEPLOYMENT!r} has polled yet")
        return 1
    print(f"Worker Deployment {WORKER_DEPLOYMENT!r}, newest version first:")
    width = max(len(version.build_id) for version in state.versions)
    for version in state.versions:
        print(f"  {version.build_id:<{width}}  {state.role(version.build_id)}")
    return 0


def _ramp(args: argparse.Namespace) -> int:
    _deployment().ramp(args.build_id, args.percent)
    print(f"{args.build_id} ramps: {args.percent:g}% of new sagas start on it")
    return 0


def _stop_ramp(_: argparse.Namespace) -> int:
    _deployment().stop_ramp()
    print("no version ramps: every new saga starts on the current version")
    return 0


def _promote(args: argparse.Namespace) -> int:
    _deployment().promote(args.build_id)
    print(f"{args.build_id} is current: every new saga starts on it")
    return 0


def _drained(args: argparse.Namespace) -> int:
    if _deployment().wait_drained(args.build_id, max(args.wait, 0.0)):
        print(f"{args.build_id} is drained: no saga pinned to it is open; its workers may stop")
        return 0
    print(f"{args.build_id} is not drained: keep its workers running")
    return 1


def _worker(args: argparse.Namespace) -> int:
    config = StackConfig.from_env()
    if args.build_id is None:
        args.build_id = code_build_id()  # what the worker itself would take
    [metrics_port] = free_ports(1, avoid=config.port_numbers())
    process = rollout_worker(config, args.build_id, metrics_port)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    process.start()
    try:
        process.wait_ready(config.startup_timeout, cancel=stop)
        print(
            f"worker {args.build_id} serves the task queue beside the stack's (pid {process.pid}, metrics on "
            f"port {metrics_port}, log {process.log_path}); Ctrl-C stops it"
        )
        while not stop.wait(0.5):
            if not process.is_alive():
                raise DeploymentError(f"worker {args.build_id} {process.exit_description()}")
    finally:
        process.stop()
    return 0


def _build_id(text: str) -> str:
    if not _BUILD_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: 1-128 letters, digits, dots, dashes or underscores, starting with a letter or digit"
        )
    return text


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"{text!r}: a percentage more than 0 and less than 100")
    return value

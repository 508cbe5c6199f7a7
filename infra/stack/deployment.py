"""The orchestrator's Worker Deployment as the server sees it, and the moves of a rollout: which
worker processes run which version, which version is current and which ramps, whether an old version
has drained; promote, ramp, stop a ramp.

Everything goes through the Temporal CLI (`temporal worker deployment ...`, `temporal worker list`),
the tool an operator uses on a cluster too, so what the stack and `sagactl rollout` do is what the
docs show; only the wait for a new routing to reach the task queue asks the server through the SDK,
in a child process (`wait_routed`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from infra.stack.config import BIN_DIR, StackError
from saga_contract import NAMESPACE, TASK_QUEUE, WORKER_DEPLOYMENT

CLI_TIMEOUT_SECONDS = 10
TASK_QUEUE_PARTITIONS = 4
"""A task queue's read partitions on a server with default settings; a poller polls any of them."""


ROUTING_SECONDS = 60.0
"""How long `wait_routed` waits: the server's propagation of a routing took more than 10 s once on a
busy host."""
PATIENCE_SECONDS = 10.0
"""How long a move waits for the server to know a version that a worker has only just started to
poll with: the server learns each of the version's task queues as its pollers arrive."""


class DeploymentError(StackError):
    """The server refused a rollout move, or could not be asked."""


@dataclass(frozen=True)
class VersionSummary:
    build_id: str
    drainage: str
    """"draining" (no longer current or ramping, pinned sagas still open), "drained" (none open), or
    "" while it is current, ramping, or not yet checked."""


@dataclass(frozen=True)
class DeploymentState:
    current: str | None
    """The build id new sagas start on (those the ramp does not take)."""
    ramping: str | None
    ramp_percent: float
    versions: list[VersionSummary]
    """Every version the server knows, newest first."""

    def role(self, build_id: str) -> str:
        """What the version does now, in a word or two: current, ramping 25%, draining, drained, or
        inactive (known, never routed to)."""
        if build_id == self.current:
            return "current"
        if build_id == self.ramping:
            return f"ramping {self.ramp_percent:g}%"
        drainage = next((v.drainage for v in self.versions if v.build_id == build_id), "")
        return drainage or "inactive"


class Deployment:
    """WORKER_DEPLOYMENT on the Temporal server at `address`."""

    def __init__(self, address: str, namespace: str = NAMESPACE, name: str = WORKER_DEPLOYMENT) -> None:
        self.address = address
        self.namespace = namespace
        self.name = name

    def state(self) -> DeploymentState | None:
        """The routing and the versions; None while no worker of the deployment has ever polled."""
        try:
            described = self._cli("worker", "deployment", "describe", "--name", self.name, "--output", "json")
        except DeploymentError as error:
            if re.search(r"not found|no worker deployment found", str(error), re.IGNORECASE):
                return None
            raise
        routing = described.get("routingConfig") or {}
        return DeploymentState(
            current=routing.get("currentVersionBuildID") or None,
            ramping=routing.get("rampingVersionBuildID") or None,
            ramp_percent=float(routing.get("rampingVersionPercentage") or 0),
            versions=[
                VersionSummary(summary["BuildID"], _drainage(summary.get("drainageStatus")))
                for summary in described.get("versionSummaries") or []
            ],
        )

    def drainage(self, build_id: str) -> str:
        """One version's drainage as last checked by the server: "draining", "drained" or ""."""
        described = self._cli(
            "worker", "deployment", "describe-version",
            "--deployment-name", self.name, "--build-id", build_id, "--output", "json",
        )  # fmt: skip
        return _drainage((described.get("drainageInfo") or {}).get("drainageStatus"))

    def wait_drained(self, build_id: str, timeout: float, *, interval: float = 1.0) -> bool:
        """True once the server reports `build_id` drained: no saga pinned to it is still open, so its
        workers may stop. False when `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.drainage(build_id) == "drained":
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def build_id_of(self, pid: int) -> str | None:
        """The version the worker process `pid` on this machine runs, once it polls the task queue;
        None before that (or if it runs no version).

        Temporal lists a poller for minutes after it was last seen, so after a restart the dead worker
        still looks present: only a poller whose identity names this very process counts (temporalio's
        default identity is `<pid>@<hostname>`, which the worker keeps). The per-partition poller
        list is the one that names versioned pollers.
        """
        try:
            described = self._cli(
                "task-queue", "describe", "--task-queue", TASK_QUEUE,
                "--legacy-mode", "--task-queue-type-legacy", "activity",
                "--partitions-legacy", str(TASK_QUEUE_PARTITIONS), "--output", "json",
            )  # fmt: skip
        except DeploymentError:
            return None
        for poller in (described or {}).get("pollers") or []:
            if str(poller.get("identity", "")).startswith(f"{pid}@"):
                return (poller.get("deployment_options") or {}).get("build_id") or None
        return None

    def promote(self, build_id: str, *, patience: float = PATIENCE_SECONDS) -> None:
        """Make `build_id` the current version: every new saga starts on it (a ramp to it ends). The
        server refuses a version it has not yet seen poll every task queue (for up to `patience`
        seconds this asks again: a worker just started is known a moment after it polls each), but
        not one whose workers have since stopped: new sagas would then wait until a worker of it
        runs again."""
        self._move_patiently(patience, "set-current-version", "--build-id", build_id)

    def ramp(self, build_id: str, percent: float, *, patience: float = PATIENCE_SECONDS) -> None:
        """Start `percent` % of new sagas on `build_id`, the rest on the current version; asked
        again for up to `patience` seconds, like `promote`."""
        if not 0 < percent < 100:
            raise DeploymentError(f"a ramp is more than 0 and less than 100 percent, not {percent:g}")
        self._move_patiently(
            patience, "set-ramping-version", "--build-id", build_id, "--percentage", f"{percent:g}"
        )

    def wait_routed(self, timeout: float = ROUTING_SECONDS) -> None:
        """Return once the server has taken the deployment's latest routing to every partition of the
        task queue; DeploymentError after `timeout` seconds. Every move waits for this: the server
        answers a move before that, and a saga started in the moment between would go where the old
        routing sent it.

        The SDK asks, in a child process that leaves through os._exit: temporalio's threads can
        crash an interpreter as it exits (PyGILState_Release), as `sagactl` would after a move."""
        argv = [sys.executable, "-m", "infra.stack.routing", self.address, self.namespace, self.name]
        try:
            done = subprocess.run(
                [*argv, f"{timeout:g}"],
                capture_output=True,
                text=True,
                timeout=timeout + CLI_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise DeploymentError(f"the routing of {self.name} was not known after {timeout:g} s") from error
        if done.returncode != 0:
            message = done.stderr.strip().splitlines()
            raise DeploymentError(message[-1] if message else f"the routing of {self.name} is not known")

    def _move_patiently(self, patience: float, command: str, *args: str) -> None:
        deadline = time.monotonic() + patience
        while True:
            try:
                self._move(command, *args)
                return
            except DeploymentError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def stop_ramp(self) -> None:
        """New sagas go to the current version alone again."""
        state = self.state()
        if state is not None and state.ramping is not None:
            self._move("set-ramping-version", "--build-id", state.ramping, "--delete")

    def _move(self, command: str, *args: str) -> None:
        self._cli(
            "worker", "deployment", command, "--deployment-name", self.name, *args, "--yes", output=False
        )
        self.wait_routed()

    def _cli(self, *args: str, output: bool = True) -> Any:
        argv = [str(BIN_DIR / "temporal"), *args, "--address", self.address, "--namespace", self.namespace]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise DeploymentError(
                f"Temporal at {self.address} did not answer `{' '.join(args[:3])}`"
            ) from error
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip().splitlines()
            raise DeploymentError(message[-1] if message else f"`temporal {' '.join(args[:3])}` failed")
        if not output:
            return None
        try:
            return json.loads(done.stdout) if done.stdout.strip() else None
        except ValueError as error:
            raise DeploymentError(f"unreadable answer from `temporal {' '.join(args[:3])}`") from error


def _drainage(status: object) -> str:
    text = str(status or "").lower().removeprefix("version_drainage_status_")
    return text if text in ("draining", "drained") else ""

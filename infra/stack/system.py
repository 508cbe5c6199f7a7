"""The whole local system: Temporal, then migrations, the broker's queues and identity_svc's clients,
the five services, the
outbox relay, the event publishers and the notifier, then the worker (and the gateway and Prometheus
when asked), started in order and stopped in reverse."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from infra import storefront
from infra.broker import drop_vhost, own_vhost
from infra.databases import drop_databases, ensure_databases
from infra.stack.config import ALL_SERVICES, PUBLISHING_SERVICES, StackConfig, StackError, StartCancelled
from infra.stack.deployment import Deployment
from infra.stack.process import ManagedProcess
from infra.stack.processes import (
    broker_setup,
    client_registration,
    django_service,
    event_publisher,
    notifier,
    orchestrator_worker,
    outbox_relay,
    payment_consumer,
    publisher_name,
    rollout_worker,
    service_migration,
    temporal_server,
    worker_version,
)
from infra.stack.schedules import set_up_schedules
from infra.stack.supervision import RestartPolicy, SupervisionEvent, Supervisor

log = logging.getLogger("infra.stack")


class Stack:
    """The whole local system: Temporal, then migrations and the broker's queues, the four services,
    order_svc's outbox relay, the event publishers and the notifier, then the worker; stopped in
    reverse. Use it as a context manager, or call `start` and
    `stop`; call `supervise` once started to have every process that dies restarted (see Supervisor).
    `policy` paces both: a process that dies before it is ready while the stack starts is started
    again after the policy's backoff, up to its `start_attempts`, while the others keep running."""

    def __init__(self, config: StackConfig, policy: RestartPolicy | None = None) -> None:
        self.config = config
        self.policy = policy or RestartPolicy()
        self.processes: dict[str, ManagedProcess] = {"temporal": temporal_server(config)}
        for service in ALL_SERVICES:
            self.processes[service] = django_service(config, service)
        self.processes["relay"] = outbox_relay(config)
        for service in PUBLISHING_SERVICES:
            self.processes[publisher_name(service)] = event_publisher(config, service)
        self.processes["notifier"] = notifier(config)
        self.processes["payment-consumer"] = payment_consumer(config)
        self.processes["worker"] = orchestrator_worker(config)
        # The optional parts, when asked for (they raise ConfigError when not installed).
        if config.prometheus_port is not None:
            from infra.monitoring import prometheus_server

            self.processes["prometheus"] = prometheus_server(config)
        if config.gateway_port is not None:
            from infra.nginx import gateway_server

            self.processes["gateway"] = gateway_server(config)
        self._supervisor: Supervisor | None = None
        self._start_events: list[SupervisionEvent] = []

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def order_url(self) -> str:
        return self.config.order_url

    @property
    def payment_url(self) -> str:
        return self.config.payment_url

    @property
    def inventory_url(self) -> str:
        return self.config.inventory_url

    @property
    def temporal_address(self) -> str:
        return self.config.temporal_address

    @property
    def ui_url(self) -> str:
        return self.config.ui_url

    def start(self, *, cancel: threading.Event | None = None) -> None:
        """Start everything and wait until each part is ready, starting again what dies first (see
        `policy`). On any other failure (the last attempt's included), or once `cancel` is set, what
        was started is stopped again before the error propagates; a missing binary or a port another
        process holds raises CannotStart at once."""
        self.config.check_ports()
        self.config.secrets()
        storefront.publish(self.config)  # the built storefront's files, for identity_svc and the gateway
        began = time.monotonic()
        try:
            # The databases and the broker's virtual host are made while Temporal starts (rabbitmqctl
            # takes about a second): the migrations need them, Temporal does not.
            beside(self._prepare_storage, lambda: self._bring_up(["temporal"], cancel))
            self._migrate(cancel)
            # identity_svc's clients are registered into its migrated tables while the services start:
            # none of them needs a client, and the worker, which does, starts after both.
            services = [
                *ALL_SERVICES,
                "relay",
                *map(publisher_name, PUBLISHING_SERVICES),
                "notifier",
                "payment-consumer",
            ]
            self._run_once(
                [client_registration(self.config)], cancel, meanwhile=lambda: self._bring_up(services, cancel)
            )
            self._bring_up(["worker"], cancel)
            self._make_worker_current()
            set_up_schedules(self.config, cancel=cancel)  # the audit and purge schedules
            extras = [name for name in ("gateway", "prometheus") if name in self.processes]
            if extras:
                self._bring_up(extras, cancel)
        except BaseException:
            self.stop()
            raise
        log.info("stack ready in %.1f s; logs in %s", time.monotonic() - began, self.config.log_dir)

    def stop(self) -> None:
        """End supervision first, so nothing is restarted behind our back, then stop the process
        groups in the reverse of the start's waves, each wave's side by side (see `stop_waves`); safe
        to call more than once."""
        if self._supervisor is not None:
            self._supervisor.stop()
        *waves, last = self.stop_waves() or [[]]
        for wave in waves:
            stop_side_by_side(wave)
        # What the stack made for itself goes while its last wave (Temporal, which uses neither) stops.
        beside(self._drop_storage, lambda: stop_side_by_side(last))

    def _prepare_storage(self) -> None:
        """Create the stack's PostgreSQL databases that are missing and its broker's virtual host."""
        if self.config.postgres_url:
            created = ensure_databases(self.config.own_databases())
            if created:
                log.info("databases created: %s", ", ".join(created))
        vhost = self.config.broker_vhost
        if vhost is not None and not own_vhost(self.config.rabbitmq_url or "", vhost):
            raise StackError(f"could not make the broker's virtual host {vhost} (rabbitmqctl failed)")

    def _drop_storage(self) -> None:
        """Drop the databases and the virtual host of a stack of its own: the virtual host even when
        the database server cannot be reached (a test that killed it)."""
        if self.config.drop_databases:
            try:
                drop_databases(self.config.own_databases())
            finally:
                if self.config.broker_vhost is not None:
                    drop_vhost(self.config.broker_vhost)

    def stop_waves(self) -> list[list[ManagedProcess]]:
        """The start's waves, last first: the gateway and Prometheus; the workers (a rollout's
        included), so no step is cut off by its service going away; the services with the relay, the
        publishers and the consumers; Temporal."""
        waves: list[list[ManagedProcess]] = [[], [], [], []]
        for name, process in self.processes.items():
            if name in ("gateway", "prometheus"):
                waves[0].append(process)
            elif name == "worker" or name.startswith("worker-"):
                waves[1].append(process)
            elif name == "temporal":
                waves[3].append(process)
            else:
                waves[2].append(process)
        return [wave for wave in waves if wave]

    def add_worker(self, build_id: str) -> ManagedProcess:
        """Start a worker of version `build_id` beside the stack's own, as a rollout does; from then
        on it is one of the stack's processes (stopped with them, supervised with them). Only before
        `supervise`."""
        if self._supervisor is not None:
            raise StackError("add a worker before the stack is supervised")
        process = rollout_worker(self.config, build_id)
        self.processes[process.name] = process
        self._bring_up([process.name], None)
        return process

    def supervise(
        self, policy: RestartPolicy | None = None, *, on_failure: threading.Event | None = None
    ) -> None:
        """From now until `stop`, restart any process that dies (migrations are one-shot and not
        among them), with the backoff of `policy` (default: the stack's) and readiness within the
        startup timeout. A process that cannot be started again is left stopped, its error kept as
        `failure`, and `on_failure` set."""
        if self._supervisor is not None:
            raise StackError("the stack is already supervised")
        if any(process.pid is None for process in self.processes.values()):
            raise StackError("start the stack before supervising it")
        self._supervisor = Supervisor(
            self.processes,
            policy=policy or self.policy,
            ready_timeout=self.config.startup_timeout,
            on_failure=on_failure,
            log_max_bytes=self.config.log_max_bytes,
        )
        self._supervisor.start()

    @property
    def failure(self) -> StackError | None:
        """Why supervision gave up on a process; None while it has not."""
        return None if self._supervisor is None else self._supervisor.failure

    @property
    def restarts(self) -> dict[str, int]:
        """How many times supervision started each process again."""
        if self._supervisor is None:
            return dict.fromkeys(self.processes, 0)
        return self._supervisor.restarts

    @property
    def events(self) -> list[SupervisionEvent]:
        """Deaths while starting and their new attempts, then what supervision saw and did: deaths,
        failed restarts, recoveries; oldest first."""
        return self._start_events + ([] if self._supervisor is None else self._supervisor.events)

    def kill(self, name: str, signum: int = signal.SIGKILL) -> bool:
        """Send `signum` to every process of `name`'s group, as `kill -9 -<pgid>` from a shell would.
        False when it was not running (stopped, or dead and not yet restarted). Supervision carries
        on, so a supervised process comes back."""
        process = self.processes[name]
        if process.pid is None or not process.is_alive():
            return False
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def _bring_up(self, names: Sequence[str], cancel: threading.Event | None) -> None:
        began = time.monotonic()
        for name in names:
            self.processes[name].start()
        for name in names:
            process = self.processes[name]
            self._wait_started(process, cancel)
            log.info("%s ready (pid %d, %.1f s)", name, process.pid, time.monotonic() - began)

    def _wait_started(self, process: ManagedProcess, cancel: threading.Event | None) -> None:
        """Wait until `process` is ready; while it dies first, start it again after the policy's
        backoff, `start_attempts` times in all. A process still not ready after the startup timeout
        is not tried again: another attempt would wait as long."""
        attempts = self.policy.start_attempts
        attempt = 1
        while True:
            try:
                process.wait_ready(self.config.startup_timeout, cancel=cancel)
                return
            except StartCancelled:
                raise
            except StackError:
                if process.is_alive() or attempt >= attempts:
                    raise
            delay = self.policy.backoff(attempt)
            attempt += 1
            description = (
                f"{process.exit_reason()}; starting again in {delay:.1f} s (attempt {attempt} of {attempts})"
            )
            self._start_events.append(SupervisionEvent(time.time(), process.name, description))
            log.warning("%s %s", process.name, description)
            process.stop()  # what is left of its group, so that its ports are free again
            if (cancel or threading.Event()).wait(delay):
                raise StartCancelled("stop requested while starting")
            process.start()

    def _make_worker_current(self) -> None:
        """Make the version the stack's worker runs the deployment's current one, so new sagas start
        on it. Sagas pinned to an earlier version stay on that version: say so, as they need a worker
        of theirs to finish."""
        build_id = worker_version(self.config, self.processes["worker"].pid)
        if build_id is None:
            raise StackError(
                "the worker stopped serving the task queue before its version could be made current"
            )
        deployment = Deployment(self.config.temporal_address)
        before = deployment.state()
        deployment.promote(build_id, patience=self.config.startup_timeout)
        if before is not None and before.current not in (None, build_id):
            log.warning(
                "worker version %s is current; sagas pinned to %s need a worker of that version until "
                "`sagactl rollout drained %s` says they are done",
                build_id,
                before.current,
                before.current,
            )
        else:
            log.info("worker version %s is current", build_id)

    def _migrate(self, cancel: threading.Event | None) -> None:
        began = time.monotonic()
        migrations = [service_migration(self.config, service) for service in ALL_SERVICES]
        migrations.append(broker_setup(self.config))
        self._run_once(migrations, cancel)
        log.info("migrations applied, the broker's queues declared (%.1f s)", time.monotonic() - began)

    def _run_once(
        self,
        steps: list[ManagedProcess],
        cancel: threading.Event | None,
        *,
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        """Run one-shot processes side by side, and `meanwhile` while they run; the first that fails
        raises its failure."""
        try:
            for step in steps:
                step.start()
            if meanwhile is not None:
                meanwhile()
            for step in steps:
                if step.wait_exit(self.config.startup_timeout, cancel=cancel) != 0:
                    raise step.failure(step.exit_reason())
        finally:
            for step in steps:
                step.stop()


def beside(task: Callable[[], None], work: Callable[[], None]) -> None:
    """Run `task` in a thread of its own while `work` runs here; return once both are done, raising
    what `work` raised, else what `task` raised."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="beside") as pool:
        done = pool.submit(task)
        work()
        done.result()


def stop_side_by_side(processes: Sequence[ManagedProcess]) -> None:
    """Stop `processes` at once, each as `ManagedProcess.stop` does (SIGTERM, then SIGKILL after its
    stop timeout), and return when every group is gone: a wave takes as long as its slowest."""
    with ThreadPoolExecutor(max_workers=max(len(processes), 1), thread_name_prefix="stop") as pool:
        for done in [pool.submit(process.stop) for process in processes]:
            done.result()

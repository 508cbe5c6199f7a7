"""Failures injected into a running stack: the services' fault endpoints (errors, lost replies,
latency), the monkey that kills processes, cuts the broker's connections (through the run's proxy),
has the mail server refuse mail and faults the links of the run's network namespaces, each bounded
in time."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import httpx

from infra.chaos.netns import Topology
from infra.chaos.scenarios import HttpFaults, Scenario
from infra.mail import MailSink
from infra.stack import Stack
from infra.tcp_proxy import TcpProxy
from saga_contract import FAULTS_PATH

Result = TypeVar("Result")


class Monkey:
    """Injects one scenario's failures on a schedule until told to stop (or its time runs out)."""

    def __init__(
        self,
        stack: Stack,
        scenario: Scenario,
        rng: random.Random,
        log: Callable[[str], object],
        *,
        mail: MailSink | None = None,
        broker_proxy: TcpProxy | None = None,
        topology: Topology | None = None,
    ) -> None:
        self.stack, self.scenario, self.rng, self.log = stack, scenario, rng, log
        self.mail, self.broker_proxy, self.topology = mail, broker_proxy, topology
        if scenario.network and topology is None:
            raise ValueError(f"{scenario.name} faults the services' links: it needs them in namespaces")
        if scenario.needs_rabbitmq and broker_proxy is None:
            raise ValueError(
                f"{scenario.name} cuts the broker's connections: it needs RabbitMQ behind a proxy"
            )
        if scenario.mail_outage and mail is None:
            raise ValueError(f"{scenario.name} makes the mail server refuse mail: it needs the run's own")
        self._mail_outage_done = False
        self.faults = Faults(stack)
        self.kills: Counter[str] = Counter()
        self.stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-monkey", daemon=True)
        self._outage_until: float | None = None
        self._outage_done = False
        self._network_until: float | None = None
        self._network_done = False
        self._dropped = 0

    def start(self) -> None:
        for service in _FAULTED:
            self.faults.put(service, self.scenario.http_faults)
        self.log(f"faults on: {self.scenario.http_faults}")
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        next_kill = started + 1.0
        outage = self.scenario.outage
        outage_at = started + 2.0 if outage else None
        next_cut = started + self.scenario.cut_broker_every if self.scenario.cut_broker_every else None
        mail_outage_at = started + 2.0 if self.scenario.mail_outage else None
        mail_outage_ends: float | None = None
        network_at = started + 2.0 if self.scenario.network else None
        while not self.stopped.wait(0.1):
            now = time.monotonic()
            if next_cut is not None and now >= next_cut and self.broker_proxy is not None:
                self.log(f"broker connections cut: {self.broker_proxy.cut()}")
                next_cut = now + self.scenario.cut_broker_every
            if mail_outage_at is not None and now >= mail_outage_at and self.mail is not None:
                self.mail.refuse_for(self.scenario.mail_outage)
                self.log(f"mail server refuses mail for {self.scenario.mail_outage:.0f} s")
                mail_outage_at, mail_outage_ends = None, now + self.scenario.mail_outage
                self._mail_outage_done = True
            elif mail_outage_ends is not None and now >= mail_outage_ends and self.mail is not None:
                # On a busy host the first mail may come after the window: refuse again, until one is refused.
                mail_outage_at = None if self.mail.refused else now
                mail_outage_ends = None
            if outage is not None and outage_at is not None and now >= outage_at:
                service, seconds = outage
                self.faults.put(service, {"error_rate": 1.0})
                self.log(f"outage: {service}_svc down for {seconds:.0f} s")
                self._outage_until, outage_at = now + seconds, None
            if self._outage_until is not None and now >= self._outage_until:
                self._end_outage()
            if network_at is not None and now >= network_at:
                self._start_network_faults()
                network_at = None
            if self._network_until is not None and now >= self._network_until:
                self._end_network_faults()
            if self.scenario.kill and now >= next_kill:
                spared = [name for name in self.scenario.kill if not self.kills[name]]
                target = self.rng.choice(spared if self.scenario.kill_each and spared else self.scenario.kill)
                # Kill only what is up: a process still coming back is not yet serving anything.
                if self._is_up(target) and self.stack.kill(target, signal.SIGKILL):
                    self.kills[target] += 1
                    self.log(f"SIGKILL {target}")
                    next_kill = now + self.scenario.kill_every

    def _is_up(self, name: str) -> bool:
        """Not killed since it was last ready: its last supervision event, if any, says it is back."""
        events = [event for event in self.stack.events if event.name == name]
        return not events or events[-1].description.startswith("is back")

    def _end_outage(self) -> None:
        assert self.scenario.outage is not None  # an outage ends only after it began
        service, _ = self.scenario.outage
        self.faults.put(service, self.scenario.http_faults)
        self._outage_until, self._outage_done = None, True
        self.log(f"outage over: {service}_svc back")

    def _start_network_faults(self) -> None:
        network, topology = self.scenario.network, self.topology
        # Both checked when the monkey was made.
        assert network is not None
        assert topology is not None
        if network.loss_percent:
            topology.lose(network.loss_percent)
        if network.delay_ms:
            topology.delay(*network.delay_ms, reorder_percent=network.reorder_percent)
        if network.cut:
            topology.cut(network.cut, replies_only=network.replies_only)
        self._network_until = time.monotonic() + network.seconds
        self.log(f"network faults on for {network.seconds:.0f} s: {network}")

    def _end_network_faults(self) -> None:
        assert self.topology is not None  # faults began only on a topology
        self._dropped += self.topology.dropped()
        self.topology.heal()
        self._network_until, self._network_done = None, True
        self.log(f"network faults off; {self._dropped} packets dropped, {self.topology.delayed()[0]} delayed")

    @property
    def injected_enough(self) -> bool:
        """Every kind of failure the scenario names has happened at least once: a kill, the outage,
        and each HTTP fault it sets a rate for (a short run may otherwise see no lost reply at all)."""
        if self.scenario.kill_each:
            kills_done = all(self.kills[name] for name in self.scenario.kill)
        else:
            kills_done = not self.scenario.kill or sum(self.kills.values()) >= 1
        if not (kills_done and (not self.scenario.outage or self._outage_done)):
            return False
        if self.scenario.network and not self._network_done:
            return False
        if self.scenario.cut_broker_every and (self.broker_proxy is None or self.broker_proxy.cuts < 1):
            return False
        if self.scenario.mail_outage and not (self._mail_outage_done and self.mail and self.mail.refused):
            return False
        wanted = [
            kind
            for kind, rate in (("error", "error_rate"), ("lost_ack", "lost_ack_rate"))
            if self.scenario.http_faults.get(rate)
        ]
        if not wanted:
            return True
        injected = self.faults.injected()
        return all(injected[kind] > 0 for kind in wanted)

    def stop(self) -> dict[str, int]:
        """Stop injecting, switch faults off, and return what the services counted."""
        self.stopped.set()
        self._thread.join(timeout=10)
        if self._outage_until is not None:
            self._end_outage()
        if self._network_until is not None:
            self._end_network_faults()
        injected = self.faults.injected()
        for service in _FAULTED:
            self.faults.clear(service)
        if self.scenario.network:
            injected["packets_dropped"] = self._dropped
        if self.scenario.network and self.scenario.network.delay_ms and self.topology is not None:
            # The links count what they held from the first packet on, and healing leaves the counts.
            injected["packets_delayed"], injected["packets_reordered"] = self.topology.delayed()
        return dict(injected)


_FAULTED = ("order", "payment", "inventory")


class Faults:
    """The services' fault endpoints, called as an operator (one token for the whole run)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.headers = {"Authorization": f"Bearer {stack.config.tokens().operator_token()}"}

    def put(self, service: str, config: HttpFaults) -> None:
        _with_retries(
            lambda: httpx.put(
                self._url(service), json=config, headers=self.headers, timeout=5
            ).raise_for_status()
        )

    def clear(self, service: str) -> None:
        _with_retries(
            lambda: httpx.delete(self._url(service), headers=self.headers, timeout=5).raise_for_status()
        )

    def injected(self) -> Counter[str]:
        """The faults every service injected since its last clear, summed by kind."""
        injected: Counter[str] = Counter()
        for service in _FAULTED:
            injected.update(_with_retries(partial(self._injected_at, service)))
        return injected

    def _injected_at(self, service: str) -> dict[str, int]:
        response = httpx.get(self._url(service), headers=self.headers, timeout=5).raise_for_status()
        counts: dict[str, int] = response.json()["injected"]
        return counts

    def _url(self, service: str) -> str:
        return f"{self.stack.config.service_url(f'{service}_svc')}{FAULTS_PATH}"


def _with_retries(call: Callable[[], Result], *, seconds: float = 30.0) -> Result:
    """The faults endpoint of a service that is being restarted answers again within seconds."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except httpx.HTTPError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.25)

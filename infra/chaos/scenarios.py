"""The chaos scenarios: which failures each injects while orders flow, and the stack tuning they run with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from infra.stack import PUBLISHING_SERVICES, SERVICES, OwnStackSettings, publisher_name

# Settings of the stack a chaos run starts: breakers that recover in seconds, a saga deadline
# long enough that no injected failure should ever time a valid order out, and abuse limits raised
# out of the way (a run places orders faster than any one customer may: it tests resilience, not
# throttling).
CHAOS_TUNING = {
    "ORDER_SAGA_DEADLINE_SECONDS": "120",
    "BREAKER_FAIL_MAX": "5",
    "BREAKER_RESET_SECONDS": "3",
    "THROTTLE_REQUESTS": "100000/min",
    "THROTTLE_ORDER_PLACEMENTS": "100000/min",
}


class HttpFaults(TypedDict, total=False):
    """A fault configuration as the services' fault endpoint takes it (chassis/faults.py); what is
    left out is not injected."""

    error_rate: float
    lost_ack_rate: float
    latency_ms: list[int]  # [lowest, highest]
    paths: list[str] | None  # path prefixes; None: every API path


@dataclass(frozen=True)
class NetworkFaults:
    """Faults of a real network on the links of the run's topology in network namespaces
    (infra/chaos/netns.py), from two seconds into the run, for `seconds`."""

    seconds: float
    loss_percent: int = 0
    """Of the packets each way, on every link."""
    delay_ms: tuple[int, int] | None = None
    """(delay, jitter) each way on every link (links of TUN devices, infra/chaos/tun_link.py)."""
    reorder_percent: int = 0
    cut: str | None = None
    """The service whose port is cut off from every other process."""
    replies_only: bool = False
    """Cut one way only: the requests arrive and are carried out, their answers are lost."""

    @property
    def tools(self) -> tuple[str, ...]:
        """What the machine must offer: nftables for loss and cuts, TUN devices for delay."""
        return (*(("nft",) if self.loss_percent or self.cut else ()), *(("tun",) if self.delay_ms else ()))


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    http_faults: HttpFaults
    """Fault config PUT on every service while the failures are injected."""
    kill: tuple[str, ...] = ()
    """Processes to SIGKILL, one at a time, chosen by the run's seeded RNG."""
    kill_every: float = 0.0
    kill_each: bool = False
    """Each process in `kill` dies at least once before injection stops (else: any one of them)."""
    outage: tuple[str, float] | None = None
    """(service, seconds): that service answers 503 to everything for that long."""
    ramp: tuple[str, float] | None = None
    """(build id, percent): a second worker version runs beside the stack's, as `worker-<build id>`,
    and takes that share of new sagas, as in the middle of a rollout."""
    cut_broker_every: float = 0.0
    """Seconds between cuts of every connection to the broker (through the run's proxy; RabbitMQ only)."""
    mail_outage: float = 0.0
    """Seconds for which the SMTP server answers every message with 451, a few seconds in."""
    network: NetworkFaults | None = None
    """Run each saga service in a network namespace of its own, and fault their links."""
    file_cap: int | None = None
    """Bytes at which every log and trace file of the stack is rotated (None: the stack's defaults)."""

    def stack_settings(self, environment: dict[str, str]) -> OwnStackSettings:
        """The settings of this scenario's stack: CHAOS_TUNING and `environment` for every process,
        and its file cap, if it has one, for the logs (the supervisor) and the traces (each process)."""
        if self.file_cap is None:
            return {"tuning": CHAOS_TUNING | environment}
        traces = {"SAGA_TRACES_MAX_BYTES": str(self.file_cap)}
        return {"tuning": CHAOS_TUNING | traces | environment, "log_max_bytes": self.file_cap}

    @property
    def needs_rabbitmq(self) -> bool:
        return self.cut_broker_every > 0


HTTP_FAULTS: HttpFaults = {"error_rate": 0.1, "lost_ack_rate": 0.05, "latency_ms": [0, 150]}

# Local services answer in a millisecond, so a kill would rarely meet a call in flight; every
# scenario gives them the latency of a real network and database instead.
REAL_LATENCY: HttpFaults = {"latency_ms": [20, 150]}

OUTAGE: tuple[str, float] = ("payment", 8.0)  # longer than the breaker's 3 s reset time

RAMP: tuple[str, float] = ("chaos-v2", 50.0)

EVENT_PROCESSES = (*map(publisher_name, PUBLISHING_SERVICES), "notifier")

SOAK_FILE_CAP = 2**20
"""A soak rotates every log and trace file at 1 MiB, so that its bounds are reached within a run and
seen to hold (the stack's defaults are 64 MiB)."""

MIXED_KILLS = ("worker", "temporal", "relay", *SERVICES, *EVENT_PROCESSES)
"""Every process the mixed faults kill, one at a time."""

SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "http-faults", "5xx, latency and lost replies on all three services", http_faults=HTTP_FAULTS
        ),
        Scenario(
            "worker-kill",
            "SIGKILL the worker every few seconds",
            http_faults=REAL_LATENCY,
            kill=("worker",),
            kill_every=4.0,
        ),
        Scenario(
            "service-kill",
            "SIGKILL a service or the outbox relay mid-traffic",
            http_faults=REAL_LATENCY,
            kill=(*SERVICES, "relay"),
            kill_every=5.0,
        ),
        Scenario(
            "temporal-restart",
            "SIGKILL the Temporal dev server",
            http_faults=REAL_LATENCY,
            kill=("temporal",),
            kill_every=8.0,
        ),
        Scenario(
            "outage",
            "payment_svc down for longer than its breaker's reset time",
            http_faults=REAL_LATENCY,
            outage=OUTAGE,
        ),
        Scenario(
            "rollout",
            "SIGKILL workers of both versions while half the new sagas ramp to the second",
            http_faults=REAL_LATENCY,
            kill=("worker", f"worker-{RAMP[0]}"),
            kill_every=4.0,
            kill_each=True,
            ramp=RAMP,
        ),
        Scenario(
            "events",
            "SIGKILL each event publisher and the notifier, cut the broker's connections, refuse mail",
            http_faults=REAL_LATENCY,
            kill=EVENT_PROCESSES,
            kill_every=3.0,
            kill_each=True,
            cut_broker_every=5.0,
            mail_outage=6.0,
        ),
        Scenario(
            "soak",
            "the mixed faults at a steady pace over a long run (--duration), every process watched",
            http_faults=HTTP_FAULTS,
            kill=MIXED_KILLS,
            kill_every=90.0,
            outage=OUTAGE,
            mail_outage=6.0,
            file_cap=SOAK_FILE_CAP,
        ),
        Scenario(
            "partition",
            "payment_svc cut off from the worker, both ways, for longer than its breaker's reset",
            http_faults={},
            network=NetworkFaults(seconds=10.0, cut="payment_svc"),
        ),
        Scenario(
            "one-way-partition",
            "payment_svc's answers lost on the way back while its requests still arrive",
            http_faults={},
            network=NetworkFaults(seconds=10.0, cut="payment_svc", replies_only=True),
        ),
        Scenario(
            "packet-loss",
            "30 % of the packets lost each way on every service's link",
            http_faults={},
            network=NetworkFaults(seconds=20.0, loss_percent=30),
        ),
        Scenario(
            "delay",
            "300 ms ± 200 ms each way on every service's link, a quarter of the packets reordered",
            http_faults={},
            network=NetworkFaults(seconds=20.0, delay_ms=(300, 200), reorder_percent=25),
        ),
        Scenario(
            "mixed",
            "the kills, the outage, the HTTP faults and the mail refusals above, at once",
            http_faults=HTTP_FAULTS,
            kill=MIXED_KILLS,
            kill_every=4.0,
            outage=OUTAGE,
            mail_outage=6.0,
        ),
    )
}

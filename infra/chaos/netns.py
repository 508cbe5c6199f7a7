"""A chaos topology in network namespaces, and the faults of a real network on its links.

Each of the saga's services runs in a namespace of its own, joined to the machine's namespace by a
link of its own: the worker, the relay and the run's clients call it across that link, at an
address of the link's (10.<net>.<index>.2), and the faults act on the link's packets:

- loss: nftables drops that share of the packets in each direction (`numgen random`);
- a cut: nftables drops every packet of the service's port, both ways; or, one way, only the
  replies that carry data, so that requests arrive and are carried out and their answers are lost;
- delay, jitter and reordering: the link is then a pair of TUN devices joined by this process
  (infra/chaos/tun_link.py), which holds each packet back for `delay ± jitter` and sends a share of
  them at once. `tc netem` would do the same in the kernel, where the kernel has it; the TUN link
  needs only /dev/net/tun, so the same faults run on every kernel. Otherwise the link is a veth pair.

A service in a namespace still needs what listens on the machine's loopback (identity_svc's keys,
Temporal for order_svc, a PostgreSQL server, RabbitMQ). The machine's end of each link has an
uplink proxy per such port, at the same port, that forwards to 127.0.0.1, and the service's
settings name that end instead (infra/stack/config.py, Placement). The faults act on the service's
own port only (cuts) or on the whole link (loss, delay): a lossy link loses database packets too.

Traffic never leaves the machine: the addresses are on links whose both ends this topology made,
nothing listens on any other interface, and IP forwarding is never turned on. Everything it makes
is named after the process that made it (`saga-<pid hex>-<service>`, links `sg<pid hex><index>h`
and `...s`), removed when the topology closes, whatever happened, and swept by the next topology
if its maker died without closing it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import ipaddress
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from infra.chaos.tun_link import TUN_DEVICE, Delay, TunLink, open_tun
from infra.stack import HOST, SERVICES, Placement, StackConfig
from infra.tcp_proxy import TcpProxy

PREFIX = "saga-"
TABLE = "saga_chaos"
"""The nftables table each namespace's faults live in (inet family, its own namespace's)."""
REPLY_WITH_DATA = 100
"""IP length above which a packet from the service's port carries data: a bare ACK, a SYN-ACK or a
FIN is 40 to 60 bytes, and any HTTP answer is more than 100."""
COMMAND_TIMEOUT = 10.0
MAKING_LOCK = Path(tempfile.gettempdir()) / "saga-chaos-topology.lock"
"""Held while a topology picks its network and makes its links (_making_alone)."""
MAKING_LOCK_TIMEOUT = 60.0


class TopologyUnavailable(RuntimeError):
    """Network namespaces (or the faults asked for) cannot be made here; the message says why."""


def unavailable_reason(*, faults: Iterable[str] = ()) -> str | None:
    """Why a topology (with `faults`: "nft" for loss and cuts, "tun" for delay) cannot be made here,
    or None when it can: not root, `ip` missing, namespaces refused, or a fault's tool missing."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", *(["nft"] if "nft" in faults else [])):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian: {'nftables' if tool == 'nft' else 'iproute2'})"
    if "tun" in faults:
        try:
            os.close(open_tun(f"sg{os.getpid():x}p"))
        except OSError as error:
            return f"TUN devices cannot be made here ({TUN_DEVICE}: {error.strerror})"
    probe = f"{PREFIX}{os.getpid():x}-probe"
    try:
        _run(["ip", "netns", "add", probe])
    except TopologyUnavailable as error:
        return f"network namespaces cannot be made here: {error}"
    _run(["ip", "netns", "del", probe], check=False)
    return None


@dataclass(frozen=True)
class Link:
    """One service's namespace and the pair of devices that joins it to the machine's namespace."""

    service: str
    netns: str
    host_if: str
    service_if: str
    host_address: str
    service_address: str


@dataclass
class LinkFaults:
    loss_percent: int = 0
    cut: str | None = None
    """None, "both" (every packet of the service's port), or "replies" (its answers that carry data)."""


class Topology:
    """`services` each in a namespace of its own; use as a context manager, then `place(config)`.
    With `tun`, each link is a TunLink, which `delay` can slow; else a veth pair."""

    def __init__(self, services: Sequence[str] = SERVICES, *, tun: bool = False) -> None:
        reason = unavailable_reason(faults=("tun",) if tun else ())
        if reason:
            raise TopologyUnavailable(reason)
        self.token = f"{os.getpid():x}"
        self.services = list(services)
        self.links: dict[str, Link] = {}
        """Each service's link, made when the topology is entered."""
        self.faults = {service: LinkFaults() for service in services}
        self.tun = tun
        self.tun_links: dict[str, TunLink] = {}
        self.ports: dict[str, int] = {}
        self._proxies: list[TcpProxy] = []

    def __enter__(self) -> Topology:
        try:
            # One topology at a time on the machine picks its network and makes its links: two made
            # at once (by runs side by side) would each find the same 10.x network free.
            with _making_alone():
                sweep()
                net = _free_network()
                for index, service in enumerate(self.services):
                    link = self.links[service] = Link(
                        service=service,
                        netns=f"{PREFIX}{self.token}-{service.removesuffix('_svc')}",
                        host_if=f"sg{self.token}{index}h",
                        service_if=f"sg{self.token}{index}s",
                        host_address=str(net[index * 256 + 1]),
                        service_address=str(net[index * 256 + 2]),
                    )
                    if self.tun:
                        self.tun_links[service] = TunLink(link.host_if, link.service_if)
                    _make(link, tun=self.tun)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the uplinks and remove every namespace and link made; safe to call twice."""
        for proxy in self._proxies:
            proxy.__exit__(None, None, None)
        self._proxies.clear()
        for tun_link in self.tun_links.values():
            tun_link.close()
        self.tun_links.clear()
        for link in self.links.values():
            _run(["ip", "netns", "del", link.netns], check=False)
            _run(["ip", "link", "del", link.host_if], check=False)

    def place(self, config: StackConfig) -> StackConfig:
        """`config` with its services in their namespaces, and an uplink proxy on each link for every
        loopback port they reach (identity_svc, Temporal, the databases' and the broker's servers)."""
        ports = {config.identity_port, config.temporal_port}
        for url in (*config.database_urls.values(), config.broker_url):
            parts = urlsplit(url)
            if parts.hostname == HOST and parts.port:
                ports.add(parts.port)
        for link in self.links.values():
            for port in sorted(ports):
                proxy = TcpProxy(HOST, port, listen=(link.host_address, port))
                self._proxies.append(proxy.__enter__())
        placements = {
            service: Placement(netns=link.netns, host=link.service_address, uplink=link.host_address)
            for service, link in self.links.items()
        }
        placed = dataclasses.replace(config, placements=placements)
        self.ports = {service: int(urlsplit(placed.service_url(service)).port or 0) for service in self.links}
        return placed

    # --- faults ---

    def lose(self, percent: int, services: Iterable[str] | None = None) -> None:
        """Drop `percent` % of the packets each way on the links of `services` (default: all)."""
        for service in services or self.links:
            self.faults[service].loss_percent = percent
            self._apply(service)

    def cut(self, service: str, *, replies_only: bool = False) -> None:
        """Cut the service's port off: both ways, or only its answers (requests still arrive)."""
        self.faults[service].cut = "replies" if replies_only else "both"
        self._apply(service)

    def delay(self, milliseconds: int, jitter: int, reorder_percent: int = 0) -> None:
        """Every link (a topology made with `tun`) holds each packet `milliseconds` ± `jitter`, each
        way, and sends `reorder_percent` % of them at once, ahead of those held."""
        if not self.tun:
            raise TopologyUnavailable("delay needs a topology of TUN links: Topology(tun=True)")
        for tun_link in self.tun_links.values():
            tun_link.set_delay(Delay(milliseconds, jitter, reorder_percent))

    def heal(self) -> None:
        """Every link back to a clean one. Links that never had a fault of nftables's are left
        alone: a topology with delay alone needs no nftables."""
        for service in self.links:
            if self.faults[service] != LinkFaults():
                self.faults[service] = LinkFaults()
                self._apply(service)
        for tun_link in self.tun_links.values():
            tun_link.set_delay(Delay())

    def delayed(self) -> tuple[int, int]:
        """Packets the links have held back so far, and those that overtook one held."""
        links = self.tun_links.values()
        return sum(link.delayed for link in links), sum(link.reordered for link in links)

    def dropped(self) -> int:
        """Packets the faults' rules have dropped so far, over every namespace (nftables counters)."""
        total = 0
        for link in self.links.values():
            done = _run(["ip", "netns", "exec", link.netns, "nft", "-j", "list", "table", "inet", TABLE],
                        check=False)  # fmt: skip
            if done.returncode != 0:
                continue
            for item in json.loads(done.stdout).get("nftables", []):
                for expression in item.get("rule", {}).get("expr", []):
                    if "counter" in expression:
                        total += int(expression["counter"]["packets"])
        return total

    def _apply(self, service: str) -> None:
        """Replace the namespace's fault table with one for its faults now, in one transaction; the
        counters of what was dropped start again from zero."""
        link, faults, port = self.links[service], self.faults[service], self.ports[service]
        inbound, outbound = ['iifname "lo" accept'], ['oifname "lo" accept']
        if faults.cut == "both":
            inbound.append(f"tcp dport {port} counter drop")
            outbound.append(f"tcp sport {port} counter drop")
        elif faults.cut == "replies":
            outbound.append(f"tcp sport {port} ip length > {REPLY_WITH_DATA} counter drop")
        if faults.loss_percent:
            rule = f"numgen random mod 100 < {faults.loss_percent} counter drop"
            inbound.append(rule)
            outbound.append(rule)
        chains = (("input", inbound), ("output", outbound))
        ruleset = "\n".join(
            [
                f"table inet {TABLE}",
                f"delete table inet {TABLE}",
                f"table inet {TABLE} {{",
                *(
                    f"  chain {name} {{ type filter hook {name} priority 0; policy accept;\n"
                    + "".join(f"    {rule}\n" for rule in rules)
                    + "  }"
                    for name, rules in chains
                ),
                "}",
            ]
        )
        _run(["ip", "netns", "exec", link.netns, "nft", "-f", "-"], stdin=ruleset)


def sweep() -> list[str]:
    """Remove the namespaces and links of topologies whose maker has died; their names."""
    listed = _run(["ip", "-j", "netns", "list"], check=False)
    names = [entry["name"] for entry in json.loads(listed.stdout or "[]")]
    swept = []
    for name in names:
        token = name.removeprefix(PREFIX).split("-", 1)[0]
        if not name.startswith(PREFIX) or not _is_hex(token) or _alive(int(token, 16)):
            continue
        _run(["ip", "netns", "del", name], check=False)
        swept.append(name)
    links = _run(["ip", "-j", "link", "show"], check=False)
    for entry in json.loads(links.stdout or "[]"):
        name = entry.get("ifname", "")
        token = name[2:-2]
        if name.startswith("sg") and name.endswith("h") and _is_hex(token) and not _alive(int(token, 16)):
            _run(["ip", "link", "del", name], check=False)
            swept.append(name)
    return swept


def ours() -> list[str]:
    """The namespaces this process's topologies have made and not yet removed."""
    listed = _run(["ip", "-j", "netns", "list"], check=False)
    mine = f"{PREFIX}{os.getpid():x}-"
    return [entry["name"] for entry in json.loads(listed.stdout or "[]") if entry["name"].startswith(mine)]


def _make(link: Link, *, tun: bool) -> None:
    """The namespace, and the link's devices (veth, or a TunLink's, made already) addressed and up."""
    _run(["ip", "netns", "add", link.netns])
    if not tun:
        _run(["ip", "link", "add", link.host_if, "type", "veth", "peer", "name", link.service_if])
    _run(["ip", "link", "set", link.service_if, "netns", link.netns])
    _run(["ip", "addr", "add", f"{link.host_address}/24", "dev", link.host_if])
    _run(["ip", "link", "set", link.host_if, "up"])
    _run(["ip", "-n", link.netns, "addr", "add", f"{link.service_address}/24", "dev", link.service_if])
    _run(["ip", "-n", link.netns, "link", "set", link.service_if, "up"])
    _run(["ip", "-n", link.netns, "link", "set", "lo", "up"])


@contextlib.contextmanager
def _making_alone() -> Iterator[None]:
    """Hold the machine's lock on making topologies (a file lock, let go if its holder dies), waiting
    at most MAKING_LOCK_TIMEOUT for it."""
    with MAKING_LOCK.open("a") as handle:
        deadline = time.monotonic() + MAKING_LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TopologyUnavailable(
                        f"another run held {MAKING_LOCK} for more than {MAKING_LOCK_TIMEOUT:g} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_network() -> ipaddress.IPv4Network:
    """A 10.<n>.0.0/16 that no address or route of the machine touches."""
    routes = _run(["ip", "-j", "-4", "route", "show", "table", "all"], check=False)
    addresses = _run(["ip", "-j", "-4", "addr", "show"], check=False)
    taken: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in json.loads(routes.stdout or "[]"):
        with contextlib.suppress(ValueError):  # "default", and the like
            taken.append(ipaddress.ip_network(entry.get("dst", "default"), strict=False))
    for entry in json.loads(addresses.stdout or "[]"):
        for address in entry.get("addr_info", []):
            taken.append(ipaddress.ip_network(f"{address['local']}/{address['prefixlen']}", strict=False))
    for second in range(200, 250):
        candidate = ipaddress.IPv4Network(f"10.{second}.0.0/16")
        if not any(candidate.overlaps(network) for network in taken):
            return candidate
    raise TopologyUnavailable("no free 10.x.0.0/16 for the chaos links")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_hex(text: str) -> bool:
    return bool(text) and all(char in "0123456789abcdef" for char in text)


def _run(
    argv: list[str], *, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        if check:
            raise TopologyUnavailable(f"{' '.join(argv)}: {error}") from None
        return subprocess.CompletedProcess(argv, 1, "", str(error))
    if check and done.returncode != 0:
        raise TopologyUnavailable(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done

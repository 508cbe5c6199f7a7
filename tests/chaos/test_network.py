"""Faults the way networks fail. The saga's services each run in a network namespace of their own,
the worker and the run's clients reach them across links of their own, and nftables drops or cuts
their packets, or the links hold them back (infra/chaos/netns.py) while orders flow; every order
still ends as its kind demands, audited clean (tests/support/chaos.py).

The namespaces, links and addresses are the test's own, and are gone afterwards, however it ended.
Skipped, with the reason, where namespaces cannot be made (not root, no `ip`), where nftables is
missing (loss and cuts), or where TUN devices cannot be made (delay and reordering).
"""

import subprocess
import sys
import time

import httpx
import pytest

from infra.chaos.netns import PREFIX, Topology, ours, unavailable_reason
from tests.support.chaos import run_scenario

NO_NAMESPACES = unavailable_reason()
NO_NFT = unavailable_reason(faults=("nft",))
NO_TUN = unavailable_reason(faults=("tun",))

ORDERS, RATE = 16, 1.5
"""Placed over about ten seconds, so that orders are in flight all through a fault's window."""


@pytest.fixture
def served(tmp_path):
    """payment_svc's place in a topology of its own, with a plain HTTP server listening there that
    logs every request it receives; yields (topology, url, the server's log)."""
    yield from _serving(tmp_path, tun=False)


@pytest.fixture
def served_across_tun(tmp_path):
    """The same across a link of TUN devices."""
    yield from _serving(tmp_path, tun=True)


def _serving(tmp_path, *, tun: bool):
    log = tmp_path / "requests.log"
    with Topology(["payment_svc"], tun=tun) as topology:
        link = topology.links["payment_svc"]
        topology.ports = {"payment_svc": 8080}
        with log.open("w") as sink:
            server = subprocess.Popen(
                ["ip", "netns", "exec", link.netns, sys.executable, "-m", "http.server",
                 "--bind", link.service_address, "8080"],
                cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            url = f"http://{link.service_address}:8080/"
            for _ in range(50):
                try:
                    httpx.get(url, timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield topology, url, log
        finally:
            server.kill()
            server.wait(timeout=10)


def _requests_received(log) -> int:
    return log.read_text().count('"GET / HTTP/1.1"')


def _requests_received_once(log, count: int, seconds: float = 10.0) -> int:
    """The requests the server logged, once it has logged `count` of them or `seconds` passed: a
    request whose answer was lost is logged by the server in its own time."""
    deadline = time.monotonic() + seconds
    while (received := _requests_received(log)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return received


@pytest.mark.any_database  # the topology alone, no stack
@pytest.mark.skipif(NO_NFT is not None, reason=str(NO_NFT))
def test_a_service_in_its_namespace_is_reached_across_its_link_and_cut_off_by_the_kernel(served):
    topology, url, log = served
    assert httpx.get(url, timeout=2).status_code == 200
    with pytest.raises(httpx.ConnectError):  # not on the machine's loopback: only across the link
        httpx.get(url.replace(topology.links["payment_svc"].service_address, "127.0.0.1"), timeout=2)

    topology.cut("payment_svc")
    received = _requests_received(log)
    with pytest.raises(httpx.ConnectTimeout):
        httpx.get(url, timeout=1)
    assert _requests_received(log) == received, "nothing got through"
    assert topology.dropped() > 0

    topology.heal()
    topology.cut("payment_svc", replies_only=True)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, timeout=1)
    assert _requests_received_once(log, received + 1) == received + 1, (
        "the request arrived; its answer was lost"
    )

    topology.heal()
    assert topology.dropped() == 0
    assert httpx.get(url, timeout=2).status_code == 200


@pytest.mark.any_database  # the topology alone, no stack
@pytest.mark.skipif(NO_NAMESPACES is not None, reason=str(NO_NAMESPACES))
def test_the_namespaces_and_links_are_removed_even_when_the_run_fails():
    made: list[str] = []

    def failed_run() -> None:
        with Topology() as topology:
            made.extend(ours())
            made.append(topology.links["order_svc"].host_if)
            raise RuntimeError("the run failed")

    with pytest.raises(RuntimeError, match="the run failed"):
        failed_run()
    *namespaces, host_if = made
    assert len(namespaces) == 3
    assert ours() == []
    shown = subprocess.run(["ip", "link", "show", host_if], capture_output=True, check=False)
    assert shown.returncode != 0, "the link went with its namespace"


@pytest.mark.any_database  # the topology alone, no stack
@pytest.mark.skipif(NO_NAMESPACES is not None, reason=str(NO_NAMESPACES))
def test_what_a_dead_run_left_behind_is_swept_and_a_live_one_is_not():
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead = f"{PREFIX}{int(finished.stdout):x}-payment"
    subprocess.run(["ip", "netns", "add", dead], check=True)
    try:
        with Topology(["order_svc"]):
            assert dead not in _namespaces(), "swept when the topology was made"
            assert len(ours()) == 1, "its own, live, is left alone"
    finally:
        subprocess.run(["ip", "netns", "del", dead], capture_output=True, check=False)


def _namespaces() -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]


@pytest.mark.skipif(NO_NFT is not None, reason=str(NO_NFT))
def test_partition_of_payment_longer_than_its_breakers_reset(tmp_path):
    report = run_scenario(tmp_path, "partition", ORDERS, rate=RATE)
    assert report["faults_injected"]["packets_dropped"] > 0
    assert report["breakers_opened"].get("payment_svc", 0) >= 1, "the breaker opened, and closed again"
    assert report["attempts_beyond_first"] > 0, "sagas waited the partition out"
    assert ours() == []


@pytest.mark.skipif(NO_NFT is not None, reason=str(NO_NFT))
def test_one_way_partition_where_requests_arrive_and_answers_are_lost(tmp_path):
    report = run_scenario(tmp_path, "one-way-partition", ORDERS, rate=RATE)
    assert report["faults_injected"]["packets_dropped"] > 0
    assert report["calls_beyond_first"] > 0, "payment_svc was asked again for steps it had carried out"


@pytest.mark.skipif(NO_NFT is not None, reason=str(NO_NFT))
def test_thirty_percent_packet_loss_on_every_link(tmp_path):
    report = run_scenario(tmp_path, "packet-loss", ORDERS, rate=RATE)
    assert report["faults_injected"]["packets_dropped"] > 0


@pytest.mark.any_database  # the topology alone, no stack
@pytest.mark.skipif(NO_TUN is not None, reason=str(NO_TUN))
def test_a_tun_link_carries_a_service_and_holds_its_packets_when_told(served_across_tun):
    topology, url, log = served_across_tun
    received = _requests_received(log)

    def get_seconds() -> float:
        began = time.monotonic()
        assert httpx.get(url, timeout=10).status_code == 200
        return time.monotonic() - began

    get_seconds()
    assert topology.delayed() == (0, 0), "a clean link holds nothing back"

    topology.delay(300, 0)
    assert get_seconds() > 1.0, "a connection and a request: two round trips of 600 ms"
    delayed, reordered = topology.delayed()
    assert delayed >= 4
    assert reordered == 0, "without jitter nothing overtakes"

    topology.delay(300, 200, reorder_percent=25)
    for _ in range(3):
        get_seconds()
    assert topology.delayed()[1] > reordered, "with jitter and a share sent at once, packets overtake"

    topology.heal()
    held = topology.delayed()
    get_seconds()
    assert topology.delayed() == held, "healed, nothing is held any more"
    assert _requests_received(log) == received + 6, "each request arrived once, however slow"


@pytest.mark.skipif(NO_TUN is not None, reason=str(NO_TUN))
def test_delay_with_jitter_and_reordering_on_every_link(tmp_path):
    report = run_scenario(tmp_path, "delay", ORDERS, rate=RATE)
    assert report["faults_injected"]["packets_delayed"] > 100
    assert report["faults_injected"]["packets_reordered"] > 0
    assert report["seconds_to_final"]["p50"] > 0.3, "every call crossed a slow link"

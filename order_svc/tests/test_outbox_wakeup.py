"""A placement wakes the idle relay when it commits (chassis.wakeups): a NOTIFY on PostgreSQL, a
datagram to the relay's socket on SQLite. A rolled-back placement wakes no one, and a relay that
cannot listen falls back to polling. The same tests run on both databases."""

import contextlib
import os
import socket
import tempfile
import threading
import time

import pytest
from django.db import connection, transaction
from orders import services
from orders.models import OUTBOX_CHANNEL
from orders.relay import OutboxRelay

from chassis.wakeups import Wakeups, _socket_path

pytestmark = pytest.mark.django_db(transaction=True)

ITEMS = [("MUG", 1)]
NEVER = 60.0  # a poll interval no test waits for: only a wake-up can end the wait in time


@pytest.fixture
def wakeups():
    listening = Wakeups(OUTBOX_CHANNEL)
    assert not listening.wait(0)  # listening from here on
    yield listening
    listening.close()


def test_a_committed_placement_wakes_the_relay(wakeups):
    services.order_place(customer_id="alice", items=ITEMS)

    assert wakeups.wait(NEVER)


def test_a_rolled_back_placement_wakes_no_one(wakeups):
    def place_then_fail():
        with transaction.atomic():
            services.order_place(customer_id="alice", items=ITEMS)
            raise RuntimeError("the request failed after the order was written")

    with pytest.raises(RuntimeError, match="the request failed"):
        place_then_fail()

    assert not wakeups.wait(0.5)


@contextlib.contextmanager
def idle_relay(settings):
    """A relay loop in a thread that polls too rarely to matter, asleep once the block starts."""
    settings.OUTBOX_POLL_SECONDS = NEVER
    stop, relay = threading.Event(), OutboxRelay()
    loop = threading.Thread(target=relay.run, args=(stop,))
    loop.start()
    try:
        time.sleep(0.3)  # the relay has found nothing and sleeps
        yield
    finally:
        stop.set()
        loop.join(timeout=5)
    assert not loop.is_alive(), "an idle relay notices its stop signal within a fraction of a second"


def started_soon(sagas, count: int) -> list[str]:
    """The workflow ids started, once there are `count` of them or 10 s have passed."""
    deadline = time.monotonic() + 10
    while len(sagas.started) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return [wid for wid, _ in sagas.started]


def test_the_idle_relay_starts_a_new_order_at_once_though_it_polls_rarely(sagas, settings):
    with idle_relay(settings):
        order = services.order_place(customer_id="alice", items=ITEMS)
        assert started_soon(sagas, 1) == [order.workflow_id]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the datagram socket is SQLite's wake-up")
def test_a_second_relay_on_the_same_database_polls_instead(wakeups):
    second = Wakeups(OUTBOX_CHANNEL)
    try:
        assert not second.wait(0)
        services.order_place(customer_id="alice", items=ITEMS)
        assert wakeups.wait(NEVER)
        assert not second.wait(0.2)
    finally:
        second.close()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the datagram socket is SQLite's wake-up")
def test_the_socket_a_dead_relay_left_behind_is_taken_over():
    path = _socket_path(connection.settings_dict["NAME"], OUTBOX_CHANNEL)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens
    listening = Wakeups(OUTBOX_CHANNEL)
    try:
        assert not listening.wait(0)
        services.order_place(customer_id="alice", items=ITEMS)
        assert listening.wait(NEVER)
    finally:
        listening.close()
    assert not path.exists()


def test_a_placement_committed_while_a_batch_is_in_flight_is_started_without_waiting_for_a_poll(
    sagas, settings, monkeypatch
):
    in_flight, release, start_all = threading.Event(), threading.Event(), sagas.start_all

    def slow_start_all(starts):
        in_flight.set()
        release.wait(10)
        return start_all(starts)

    monkeypatch.setattr(sagas, "start_all", slow_start_all)
    try:
        with idle_relay(settings):
            first = services.order_place(customer_id="alice", items=ITEMS)
            assert in_flight.wait(10), "the first placement woke the relay"
            second = services.order_place(customer_id="alice", items=ITEMS)  # its wake-up comes mid-batch
            release.set()
            assert started_soon(sagas, 2) == [first.workflow_id, second.workflow_id]
    finally:
        release.set()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the datagram socket is SQLite's wake-up")
def test_a_socket_directory_others_may_enter_is_never_used(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = _socket_path(connection.settings_dict["NAME"], OUTBOX_CHANNEL)
    path.parent.mkdir()
    os.chmod(path.parent, 0o777)  # another user could have made it, or could put a socket of theirs in it
    eavesdropper = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    eavesdropper.bind(str(path))
    eavesdropper.setblocking(False)
    relay = Wakeups(OUTBOX_CHANNEL)
    try:
        assert not relay.wait(0)  # it refuses the directory and polls instead
        services.order_place(customer_id="alice", items=ITEMS)
        with pytest.raises(BlockingIOError):
            eavesdropper.recv(64)  # nothing was sent there
    finally:
        relay.close()
        eavesdropper.close()

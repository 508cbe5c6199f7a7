"""A link that holds packets back: two TUN devices, one at each end, and a forwarder in this
process that moves every packet from one to the other, after a delay when asked to.

It stands where `tc netem` would, on kernels without netem's queueing discipline: the packets are
the kernel's own, IP packets of real TCP connections, and TCP lives with what the link does to
them (retransmits after a delay longer than its timer, reassembles what arrives out of order).
Each packet is held for a delay drawn uniformly from `delay ± jitter`, so that packets overtake one
another as on a path whose queues vary; and a share of them (`reorder_percent`) is sent at once,
ahead of those held. The link counts what it delayed and what it reordered.

The devices live only as long as this process holds them open: closing the link, or its maker's
death, removes them, in whichever namespace they were moved to.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import itertools
import os
import random
import select
import struct
import threading
import time
from dataclasses import dataclass

TUN_DEVICE = "/dev/net/tun"
_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000
_READ_SIZE = 65536
_POLL_SECONDS = 0.2
"""How long a reader waits for a packet before it looks whether the link was closed."""


def open_tun(name: str) -> int:
    """A new TUN device `name` (IP packets, no extra header); its file descriptor. OSError where the
    kernel refuses (no /dev/net/tun, not allowed, the name taken)."""
    fd = os.open(TUN_DEVICE, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TUN | _IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    return fd


@dataclass(frozen=True)
class Delay:
    milliseconds: int = 0
    jitter: int = 0
    reorder_percent: int = 0


class TunLink:
    """Two TUN devices, `host_if` and `service_if`, joined by this process: what the kernel sends
    into one comes out of the other. `set_delay` holds packets back from then on; `close` ends it."""

    def __init__(self, host_if: str, service_if: str, *, seed: int | None = None) -> None:
        self.host_if, self.service_if = host_if, service_if
        self._fds = {host_if: open_tun(host_if)}
        try:
            self._fds[service_if] = open_tun(service_if)
        except OSError:
            os.close(self._fds[host_if])
            raise
        self._rng = random.Random(seed)
        self._delay = Delay()
        self._held: list[tuple[float, int, int, bytes]] = []  # (due, sequence, fd, packet)
        self._sequence = itertools.count()
        self._last_due: dict[int, float] = {}
        self._wake = threading.Condition()
        self._closed = False
        self.delayed = 0
        self.reordered = 0
        self._threads = [
            threading.Thread(target=self._forward, args=(source, sink), name=f"tun {source}", daemon=True)
            for source, sink in ((host_if, service_if), (service_if, host_if))
        ]
        self._threads.append(threading.Thread(target=self._release, name=f"tun {host_if} held", daemon=True))
        for thread in self._threads:
            thread.start()

    def set_delay(self, delay: Delay) -> None:
        with self._wake:
            self._delay = delay

    def close(self) -> None:
        """Stop forwarding and close both devices (which removes them); safe to call twice."""
        with self._wake:
            if self._closed:
                return
            self._closed = True
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)

    def _forward(self, source: str, sink: str) -> None:
        read_fd, write_fd = self._fds[source], self._fds[sink]
        while not self._closed:
            ready, _, _ = select.select([read_fd], [], [], _POLL_SECONDS)
            if not ready:
                continue
            try:
                packet = os.read(read_fd, _READ_SIZE)
            except OSError:
                return  # closed under us
            self._pass(packet, write_fd)

    def _pass(self, packet: bytes, write_fd: int) -> None:
        with self._wake:
            delay = self._delay
            if not delay.milliseconds:
                _write(write_fd, packet)
                return
            now = time.monotonic()
            if self._rng.random() * 100 < delay.reorder_percent:
                held_seconds = 0.0
            else:
                spread = self._rng.uniform(-delay.jitter, delay.jitter)
                held_seconds = max(0.0, delay.milliseconds + spread) / 1000
            due = now + held_seconds
            if due < self._last_due.get(write_fd, 0.0):  # overtakes a packet still held
                self.reordered += 1
            self._last_due[write_fd] = max(due, self._last_due.get(write_fd, 0.0))
            if held_seconds == 0.0:
                _write(write_fd, packet)
                return
            self.delayed += 1
            heapq.heappush(self._held, (due, next(self._sequence), write_fd, packet))
            self._wake.notify()

    def _release(self) -> None:
        with self._wake:
            while not self._closed:
                if not self._held:
                    self._wake.wait(_POLL_SECONDS)
                    continue
                due = self._held[0][0]
                now = time.monotonic()
                if due > now:
                    self._wake.wait(due - now)
                    continue
                _, _, fd, packet = heapq.heappop(self._held)
                _write(fd, packet)


def _write(fd: int, packet: bytes) -> None:
    with contextlib.suppress(OSError):  # a packet the device will not take is a packet lost
        os.write(fd, packet)

"""Wakes a process that relays an outbox when a transaction that adds to it commits, so an idle
relay need not poll often: order_svc's saga relay (channel `saga_outbox`) and each service's event
publisher (channel `integration_events`, chassis.events).

On PostgreSQL the transaction sends `NOTIFY <channel>`, which the server delivers at commit (and never
for a rollback) to every relay that LISTENs, on any host. On SQLite, the embedded default on one
machine, a datagram goes after commit to the relay's Unix socket, named after the database file and
the channel, in a directory only this user may enter (another user could otherwise take the name
first and learn when orders are placed). A wake-up is only a hint: nothing waits for it, a relay
that is not listening loses it, and the relay still polls, so a lost wake-up costs one poll's delay,
never a record. This module never reads or writes an outbox itself.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import select
import socket
import tempfile
import time
from pathlib import Path

from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from chassis.directories import private_directory

logger = logging.getLogger(__name__)

_CHANNEL_NAME = re.compile(r"[a-z_]{1,40}")
_DATAGRAM = b"1"
_RETRY_LISTENING_SECONDS = 30.0


def _socket_path(database_name: str, channel: str) -> Path:
    """The relay's socket for one channel of one SQLite database: short enough for any Unix socket
    (108 bytes)."""
    return (
        Path(tempfile.gettempdir())
        / f"saga-wakeups-{os.getuid()}"
        / f"{_database_digest(database_name, channel)}.sock"
    )


@functools.cache
def _database_digest(database_name: str, channel: str) -> str:
    """A short name for the database file and channel, worked out once: a writer pays no path resolution."""
    return hashlib.sha256(f"{Path(database_name).resolve()}|{channel}".encode()).hexdigest()[:16]


_sender: socket.socket | None = None


def _send_datagram(path: Path) -> None:
    global _sender
    if not private_directory(path.parent, create=False):  # no relay listens, or the name is not ours
        return
    if _sender is None:
        _sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        _sender.setblocking(False)
    # No relay listening, or its queue is full (OSError): it will find the record by polling.
    with contextlib.suppress(OSError):
        _sender.sendto(_DATAGRAM, str(path))


def _checked(channel: str) -> str:
    if not _CHANNEL_NAME.fullmatch(channel):
        raise ValueError(f"a wake-up channel is lower-case letters and underscores, not {channel!r}")
    return channel


def wake_after_commit(channel: str) -> None:
    """Call inside the transaction that adds outbox records: the relay listening on `channel` wakes
    once it has committed."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {_checked(channel)}")
    elif connection.vendor == "sqlite":
        path = _socket_path(connection.settings_dict["NAME"], _checked(channel))
        transaction.on_commit(lambda: _send_datagram(path))


class Wakeups:
    """The relay's side: `wait(timeout)` returns early when a transaction that woke `channel` commits,
    or after `timeout`.

    Falls back to plain waiting where no wake-up can be had: another relay holds the SQLite socket,
    or the database is away (both tried again every 30 s), or it is neither SQLite nor PostgreSQL.
    A listener that fails later is dropped and opened again on the next wait.
    """

    def __init__(self, channel: str, alias: str = "default") -> None:
        self.channel = _checked(channel)
        self.alias = alias
        self._socket: socket.socket | None = None
        # A connection of its own that LISTENs (PostgreSQL).
        self._listener: BaseDatabaseWrapper | None = None
        self._unavailable_until = 0.0

    def wait(self, timeout: float) -> bool:
        """True if woken by a commit, False after `timeout` seconds without one."""
        source = self._source()
        if source is None:
            select.select([], [], [], timeout)
            return False
        try:
            ready, _, _ = select.select([source], [], [], timeout)
            if not ready:
                return False
            self._drain()
            return True
        except Exception as error:  # the socket or the listening connection broke: listen again next time
            logger.warning("outbox wake-ups lost; polling until they are back: %s", error)
            self.close()
            return False

    def _source(self) -> socket.socket | int | None:
        """What to wait on: the SQLite socket or the listening connection's file descriptor; None while
        there is neither."""
        if self._socket is not None:
            return self._socket
        if self._listener is not None:
            descriptor: int = self._listener.connection.fileno()
            return descriptor
        if time.monotonic() < self._unavailable_until:
            return None
        try:
            opened = self._open()
        except Exception as error:  # another relay's socket, or the database away (polling finds out)
            logger.warning("outbox wake-ups unavailable for now; polling: %s", error)
            self._unavailable_until = time.monotonic() + _RETRY_LISTENING_SECONDS
            return None
        if not opened:  # neither SQLite nor PostgreSQL
            self._unavailable_until = float("inf")
            return None
        return self._source()

    def _open(self) -> bool:
        """Start listening: whether this database has a way to wake the relay."""
        database = connections[self.alias]
        if database.vendor == "sqlite":
            path = _socket_path(database.settings_dict["NAME"], self.channel)
            if not private_directory(path.parent, create=True):
                raise OSError(f"{path.parent} is not a directory of this user's alone")
            listening = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                _bind_unless_taken(listening, path)
            except OSError:
                listening.close()
                raise
            listening.setblocking(False)
            self._socket = listening
            return True
        if database.vendor == "postgresql":
            listener = connections.create_connection(self.alias)
            listener.ensure_connection()
            listener.connection.autocommit = True
            listener.connection.execute(f"LISTEN {self.channel}")
            self._listener = listener
            return True
        return False

    def _drain(self) -> None:
        """Consume every wake-up waiting now: one look at the outbox answers them all."""
        if self._socket is not None:
            while True:
                try:
                    self._socket.recv(64)
                except BlockingIOError:
                    return
        elif self._listener is not None:
            for _ in self._listener.connection.notifies(timeout=0):
                pass

    def close(self) -> None:
        if self._socket is not None:
            path = self._socket.getsockname()
            self._socket.close()
            self._socket = None
            Path(path).unlink(missing_ok=True)
        if self._listener is not None:
            with contextlib.suppress(Exception):  # the connection is gone already
                self._listener.close()
            self._listener = None


def _bind_unless_taken(listening: socket.socket, path: Path) -> None:
    """Bind the relay's socket; a file left by a relay that died is replaced, a live relay's is not."""
    try:
        listening.bind(str(path))
        return
    except OSError:
        pass
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:  # nobody listens there: a relay that died left it
        path.unlink(missing_ok=True)
        listening.bind(str(path))
        return
    finally:
        probe.close()
    raise OSError(f"another relay listens on {path}")

"""Django's SQLite backend with its writers queued on a kernel lock.

A transaction begins with `BEGIN IMMEDIATE`, which takes SQLite's write lock at once. A writer that
finds the lock taken is left to SQLite's busy handler, which sleeps and tries again in naps that
grow to 100 ms; when a burst of writers meets, the lock is free for most of those naps, and the last
writer of a burst of twenty waited most of a second for work that takes a few milliseconds each.

Here each transaction first takes an exclusive `flock` on a file beside the database. A writer that
waits for it sleeps in the kernel and wakes the moment the holder commits or rolls back, so a
burst is served back to back. The lock is per open file, so every connection (one per thread)
opens its own; it is released with the transaction, and with the connection if that closes first.
SQLite's own lock still guards the data: a write outside a transaction (autocommit) takes it alone,
and so does every transaction of a connection that cannot open the lock file (a read-only or full
file system), which then waits as SQLite's busy handler has it. In-memory databases, which only one
process sees, take no file lock. A writer waits in the queue for as long as the transactions ahead
of it last: Django's atomic blocks end each one, however they end.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writers_fd: int | None = None
        self._writing = False
        self._unqueued = False  # the lock file could not be opened: this connection does not queue

    def _start_transaction_under_autocommit(self) -> None:
        self._queue_as_writer()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # django-stubs leaves the backend's hooks out
        except BaseException:
            self._done_writing()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]  # django-stubs leaves the backend's hooks out
        finally:
            self._done_writing()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # django-stubs leaves the backend's hooks out
        finally:
            self._done_writing()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]  # django-stubs leaves the backend's hooks out
        finally:
            self._done_writing()
            if self._writers_fd is not None:
                os.close(self._writers_fd)
                self._writers_fd = None
            self._unqueued = False  # the next connection tries the lock file again

    def _queue_as_writer(self) -> None:
        if self._writing or self._unqueued or self.is_in_memory_db():
            return
        if self._writers_fd is None:
            path = f"{self.settings_dict['NAME']}.writers"
            try:
                self._writers_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:  # SQLite alone answers for what the file system refuses
                self._unqueued = True
                return
        fcntl.flock(self._writers_fd, fcntl.LOCK_EX)
        self._writing = True

    def _done_writing(self) -> None:
        if self._writing and self._writers_fd is not None:
            fcntl.flock(self._writers_fd, fcntl.LOCK_UN)
        self._writing = False

"""Abuse limits per principal: DRF rate throttles keyed by who is calling.

A customer (and an operator, when THROTTLE_OPERATORS is on) is counted by its principal; an
anonymous request by its client address (REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES
proxies); the saga is never throttled. Rates come from THROTTLE_RATES, read at each request so
settings can change them.

The counters live in Django's default cache, which every process serving the service shares, so a
limit is one limit however many gunicorn workers and replicas there are: Redis with REDIS_URL
(production requires it), and otherwise files under <var>/throttle/<service>_svc, read and written by
CounterFileCache below (chassis.settings chooses). DRF reads a caller's counter and then writes it
back, so two requests of one caller that arrive at the same moment may count once: a burst gets a few
requests more than its limit at most, never a limit per process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

from chassis.auth import OPERATOR, SAGA, Principal
from chassis.conf import shared_settings
from chassis.directories import private_directory

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class PrincipalRateThrottle(SimpleRateThrottle):
    scope = "requests"

    def get_rate(self) -> str | None:
        return shared_settings.THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        principal = cast("Principal | None", request.user)
        if principal is None:
            ident = f"ip:{self.get_ident(request)}"
        elif principal.kind == SAGA or (
            principal.kind == OPERATOR and not shared_settings.THROTTLE_OPERATORS
        ):
            return None
        else:
            ident = principal.key
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RequestRateThrottle(PrincipalRateThrottle):
    """Every request: THROTTLE_RATES["requests"] (default 600/min)."""

    scope = "requests"


class OrderPlacementThrottle(PrincipalRateThrottle):
    """Order placements (POSTs of the view it is on): THROTTLE_RATES["order_placements"] (120/min)."""

    scope = "order_placements"

    def allow_request(self, request: Request, view: APIView) -> bool:
        return request.method != "POST" or super().allow_request(request, view)


if TYPE_CHECKING:

    class _FileBasedCache(FileBasedCache):
        """Django's file cache with the helpers of its own that its type stubs leave out."""

        _dir: str

        def _list_cache_files(self) -> list[str]: ...
        def _key_to_file(self, key: str, version: int | None = None) -> str: ...
        def _delete(self, fname: str) -> bool: ...
        def _cull(self) -> None: ...
        def _createdir(self) -> None: ...

else:
    _FileBasedCache = FileBasedCache


class CounterFileCache(_FileBasedCache):
    """Django's file cache, as the store of throttle counters that one service's processes share.

    Django's backend writes each value to a new file that it renames over the old one, makes sure of
    its directory before every write, and lists the whole directory before every write to decide
    whether to cull. Under many concurrent callers those directory operations queue in the kernel: a
    throttle check (a read and a write) took about 0.35 ms of CPU, two thirds of it in the kernel, with
    8 threads of 2 processes counting 50 callers. Here a counter is read and rewritten in place,
    under a lock on its file (shared to read, exclusive to write), which took 0.03 ms in the same run.
    A reader never sees half a counter, and `add` and `incr` (django-ratelimit's) count exactly: each
    reads and writes under one exclusive lock.

    The directory is looked at once every `scan_every` writes of an instance, and only when it holds
    MAX_ENTRIES counters or more are those that have expired removed, then a random CULL_FREQUENCY-th
    of the rest if that was not enough. Values are stored at zlib's level 0 (a busy caller's
    timestamps hardly compress), in Django's format, which Django's reader reads all the same.

    Each file has mode 0600, and a directory that is not this user's alone (mode 0700) is refused:
    whoever can write into it can make every process of the service unpickle what they wrote.
    """

    scan_every = 64
    _writes = 0

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(location, params)
        self._createdir()  # with mode 0700, its parents too
        if not private_directory(Path(self._dir), create=False):
            raise ImproperlyConfigured(f"{self._dir} must be a directory of this user's alone (mode 0700)")

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        stored = self._read(self._key_to_file(key, version))
        return default if stored is None else stored[1]

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self._read(self._key_to_file(key, version)) is not None

    def set(
        self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._write(self._key_to_file(key, version), value, timeout, unless_live=False)

    def add(
        self, key: str, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._write(self._key_to_file(key, version), value, timeout, unless_live=True)

    def _write(self, fname: str, value: Any, timeout: float | None, *, unless_live: bool) -> bool:
        """Store `value` in `fname`, unless `unless_live` and it holds a live one; whether it did."""
        self._cull()
        with self._locked(fname) as file:
            if unless_live and self._stored(file) is not None:
                return False
            self._rewrite(file, self.get_backend_timeout(timeout), value)
            return True

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> Any:
        with self._locked(self._key_to_file(key, version)) as file:
            stored = self._stored(file)
            if stored is None:
                raise ValueError(f"Key '{key}' not found")
            expiry, value = stored
            self._rewrite(file, expiry, value + delta)
            return value + delta

    def touch(self, key: str, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        fname = self._key_to_file(key, version)
        if not os.path.exists(fname):
            return False
        with self._locked(fname) as file:
            stored = self._stored(file)
            if stored is None:
                return False
            self._rewrite(file, self.get_backend_timeout(timeout), stored[1])
            return True

    def _read(self, fname: str) -> tuple[float | None, Any] | None:
        """The expiry and value stored in `fname`, or None where there is none or it has expired."""
        try:
            fd = os.open(fname, os.O_RDONLY)
        except FileNotFoundError:
            return None
        with open(fd, "rb") as file:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return self._stored(file)

    @contextlib.contextmanager
    def _locked(self, fname: str) -> Iterator[IO[bytes]]:
        """`fname` open to read and write, made when missing, under an exclusive lock."""
        try:
            fd = os.open(fname, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:  # the directory was removed: made again, as Django's backend does
            self._createdir()
            fd = os.open(fname, os.O_RDWR | os.O_CREAT, 0o600)
        with open(fd, "r+b") as file:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield file

    def _stored(self, file: IO[bytes]) -> tuple[float | None, Any] | None:
        file.seek(0)
        try:
            expiry = pickle.load(file)
        except EOFError:  # made by a writer that has not written yet
            return None
        if expiry is not None and expiry < time.time():
            return None
        return expiry, pickle.loads(zlib.decompress(file.read()))

    def _rewrite(self, file: IO[bytes], expiry: float | None, value: Any) -> None:
        file.seek(0)
        file.write(pickle.dumps(expiry, self.pickle_protocol))
        file.write(zlib.compress(pickle.dumps(value, self.pickle_protocol), 0))
        file.truncate()

    def _cull(self) -> None:
        """Make room before a write, when the directory is full."""
        self._writes += 1
        if self._writes % self.scan_every:
            return
        files = self._list_cache_files()
        if len(files) < self._max_entries:
            return
        for name in files:  # the expired counters go first
            try:
                expired = self._read(name) is None
            except Exception:  # no counter of ours: a corrupt or foreign file goes too
                expired = True
            if expired:
                self._delete(name)
        super()._cull()  # then a random CULL_FREQUENCY-th of the rest, if it is still full

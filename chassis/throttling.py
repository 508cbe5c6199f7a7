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
import pickle
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

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
        def _is_expired(self, f: IO[bytes]) -> bool: ...
        def _delete(self, fname: str) -> bool: ...
        def _cull(self) -> None: ...
        def _createdir(self) -> None: ...

else:
    _FileBasedCache = FileBasedCache


class CounterFileCache(_FileBasedCache):
    """Django's file cache, as the store of throttle counters that one service's processes share.

    Two of Django's choices cost more than the counting itself, and are changed here. Django's backend
    lists its whole directory before every write to decide whether to cull, which grows with every
    caller counted (a throttle check took about 0.7 ms of CPU beside 10 counters, 3 ms beside 1,000
    and 10 ms beside 5,000); this one looks at most once every `scan_every` writes of an instance, and
    only when the directory holds MAX_ENTRIES counters or more does it remove those that have
    expired, then a random CULL_FREQUENCY-th of the rest if that was not enough. And Django
    compresses each value at zlib's default level, about a quarter of a millisecond for a busy
    caller's 500 timestamps, which hardly compress; this one stores them at level 0, which Django's
    reader reads all the same. A check here, the read and the write of a counter of 500 timestamps,
    takes 0.3 to 0.45 ms of CPU however many counters there are, against 0.04 ms in local memory.

    A write still goes to a new file that is renamed over the old one, so a reader never sees half a
    counter. Each file has mode 0600, and a directory that is not this user's alone (mode 0700) is
    refused: whoever can write into it can make every process of the service unpickle what they wrote.
    """

    scan_every = 64
    _writes = 0

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(location, params)
        self._createdir()  # with mode 0700, its parents too
        if not private_directory(Path(self._dir), create=False):
            raise ImproperlyConfigured(f"{self._dir} must be a directory of this user's alone (mode 0700)")

    def _cull(self) -> None:
        """Make room before a write, when the directory is full (Django's `set` calls it)."""
        self._writes += 1
        if self._writes % self.scan_every:
            return
        files = self._list_cache_files()
        if len(files) < self._max_entries:
            return
        for name in files:  # the expired counters go first
            with contextlib.suppress(FileNotFoundError), open(name, "rb") as file:
                try:
                    self._is_expired(file)  # removes it when it has expired
                except Exception:  # no counter of ours: a corrupt or foreign file goes too
                    self._delete(name)
        super()._cull()  # then a random CULL_FREQUENCY-th of the rest, if it is still full

    def _write_content(self, file: IO[bytes], timeout: float | None, value: Any) -> None:
        file.write(pickle.dumps(self.get_backend_timeout(timeout), self.pickle_protocol))
        file.write(zlib.compress(pickle.dumps(value, self.pickle_protocol), 0))

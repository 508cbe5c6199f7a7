"""Fault injection for tests and demos: latency, 503s and lost replies, set at run time over HTTP.

It is inert unless CHAOS_ENABLED (SAGA_CHAOS=1, refused in production). It must never touch the
service's database: config and counters live in one small file that all worker processes share.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from chassis.api import ServiceApi
from chassis.conf import shared_settings
from chassis.errors import NotFound, error_response
from chassis.fields import StrictIntegerField, StrictNumberField, StrictRegexField, StrictSerializer
from chassis.middleware import GetResponse
from chassis.permissions import IsOperator
from saga_contract import FAULTS_PATH

logger = logging.getLogger("chassis.faults")

FAULTABLE_PREFIXES = ("/api/", "/internal/v1/")
KINDS = ("error", "lost_ack", "latency")
MAX_LATENCY_MS = 60_000


@dataclass(frozen=True)
class FaultConfig:
    """What to inject, and where: `paths` are path prefixes, None meaning every API path."""

    error_rate: float = 0.0
    latency_ms: tuple[int, int] = (0, 0)
    lost_ack_rate: float = 0.0
    paths: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultConfig:
        """From validated input or from `as_json`'s output: every field is present."""
        return cls(
            error_rate=float(data["error_rate"]),
            latency_ms=tuple(data["latency_ms"]),
            lost_ack_rate=float(data["lost_ack_rate"]),
            paths=None if data["paths"] is None else tuple(data["paths"]),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "error_rate": self.error_rate,
            "latency_ms": list(self.latency_ms),
            "lost_ack_rate": self.lost_ack_rate,
            "paths": None if self.paths is None else list(self.paths),
        }

    def covers(self, request_path: str) -> bool:
        return self.paths is None or request_path.startswith(self.paths)


class FaultStore:
    """One service's fault config and counters in one JSON file, shared by all its processes.

    The file holds `{"config": {...}, "injected": {...}}` and is absent when nothing is set.
    Every change happens under an exclusive flock on a sibling `.lock` file and lands whole
    (temp file + rename); `active_config` re-reads the file only when its stat changes.
    """

    def __init__(self, file: Path) -> None:
        self.file = file
        self._lock_file = file.with_suffix(".lock")
        self._cache: tuple[tuple[int, int, int], FaultConfig] | None = None

    def active_config(self) -> FaultConfig | None:
        """The config in force, or None; costs one stat while the file is unchanged."""
        try:
            stat = os.stat(self.file)
        except FileNotFoundError:
            return None
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cache is None or self._cache[0] != signature:
            state = self._read()
            if state is None:
                return None
            self._cache = (signature, FaultConfig.from_json(state["config"]))
        return self._cache[1]

    def snapshot(self) -> tuple[FaultConfig, dict[str, int]]:
        """The config (defaults when none is set) and the counters since the last clear."""
        state = self._read()
        if state is None:
            return FaultConfig(), dict.fromkeys(KINDS, 0)
        return FaultConfig.from_json(state["config"]), state["injected"]

    def put(self, config: FaultConfig) -> None:
        """Replace the config; the counters keep counting."""
        with self._locked():
            state = self._read() or {"injected": dict.fromkeys(KINDS, 0)}
            self._write({**state, "config": config.as_json()})

    def clear(self) -> None:
        """Forget the config and the counters."""
        with self._locked():
            self.file.unlink(missing_ok=True)

    def record(self, kinds: list[str]) -> None:
        """Count injected faults; a no-op if the config was cleared meanwhile."""
        with self._locked():
            state = self._read()
            if state is None:
                return
            for kind in kinds:
                state["injected"][kind] += 1
            self._write(state)

    def _read(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self.file.read_text())
        except FileNotFoundError:
            return None
        return state

    def _write(self, state: dict[str, Any]) -> None:
        fd, temp = tempfile.mkstemp(dir=self.file.parent, prefix=f".{self.file.name}.")
        with os.fdopen(fd, "w") as out:
            json.dump(state, out)
        os.replace(temp, self.file)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_file, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


@functools.cache
def _store_at(file: Path) -> FaultStore:
    return FaultStore(file)


def fault_store() -> FaultStore:
    """This process's store of the service's fault file, `<VAR_DIR>/faults/<service>.json`."""
    return _store_at(Path(shared_settings.VAR_DIR) / "faults" / f"{shared_settings.SERVICE_NAME}.json")


def _is_faultable(request_path: str) -> bool:
    return request_path.startswith(FAULTABLE_PREFIXES) and request_path != FAULTS_PATH


def _log_injected(kind: str, request: HttpRequest, **fields: object) -> None:
    logger.warning(
        "fault injected: %s on %s %s",
        kind,
        request.method,
        request.path,
        extra={"fields": {"fault": kind, "method": request.method, "path": request.path, **fields}},
    )


class FaultInjectionMiddleware:
    """Applies the stored faults to API requests; does nothing at all unless CHAOS_ENABLED."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not shared_settings.CHAOS_ENABLED or not _is_faultable(request.path):
            return self.get_response(request)
        config = fault_store().active_config()
        if config is None or not config.covers(request.path):
            return self.get_response(request)

        injected = []
        low, high = config.latency_ms
        if high:
            delay_ms = random.uniform(low, high)
            _log_injected("latency", request, latency_ms=round(delay_ms))
            injected.append("latency")
            time.sleep(delay_ms / 1000)
        if random.random() < config.error_rate:
            _log_injected("error", request)
            injected.append("error")
            response: HttpResponse = error_response(
                503, "fault_injected", "Fault injection refused this request; nothing was done."
            )
        else:
            response = self.get_response(request)
            if random.random() < config.lost_ack_rate:
                _log_injected("lost_ack", request, status=response.status_code)
                injected.append("lost_ack")
                response = error_response(
                    503,
                    "fault_injected_lost_ack",
                    "Fault injection dropped the answer; the request itself did run.",
                )
        if injected:
            fault_store().record(injected)
        return response


class FaultConfigSerializer(StrictSerializer):
    error_rate = StrictNumberField(min_value=0, max_value=1, default=0.0)
    latency_ms = serializers.ListField(
        child=StrictIntegerField(min_value=0, max_value=MAX_LATENCY_MS),
        min_length=2,
        max_length=2,
        default=[0, 0],
    )
    lost_ack_rate = StrictNumberField(min_value=0, max_value=1, default=0.0)
    paths = serializers.ListField(
        child=StrictRegexField(r"^/", max_length=255, error_messages={"invalid": "Must start with '/'."}),
        allow_empty=False,
        allow_null=True,
        default=None,
    )

    def validate_latency_ms(self, value: list[int]) -> list[int]:
        if value[0] > value[1]:
            raise serializers.ValidationError("Must be [min, max] with min <= max.")
        return value


@extend_schema(exclude=True)  # a test and demo facility, off (404) outside SAGA_CHAOS=1: not the API
class FaultsApi(ServiceApi):
    """GET the config and counters, PUT a new config (fields left out take their defaults), DELETE both.

    Operators only. Answers 404, like an unknown URL, unless the process runs with CHAOS_ENABLED.
    """

    permission_classes = [IsOperator]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not shared_settings.CHAOS_ENABLED:
            raise NotFound(f"No such resource: {request.path}")
        super().initial(request, *args, **kwargs)

    def get(self, request: Request) -> Response:
        config, injected = fault_store().snapshot()
        return Response({"config": config.as_json(), "injected": injected})

    def put(self, request: Request) -> Response:
        serializer = FaultConfigSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        config = FaultConfig.from_json(serializer.validated_data)
        fault_store().put(config)
        logger.info("fault config set", extra={"fields": {"faults": config.as_json()}})
        return Response(config.as_json())

    def delete(self, request: Request) -> Response:
        fault_store().clear()
        logger.info("fault config cleared")
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path(FAULTS_PATH.removeprefix("/"), FaultsApi.as_view(), name="faults"),
]

"""Liveness and readiness endpoints: `/healthz` (process up), `/readyz` (database reachable).

Both are open to anyone (probes carry no token), so they say nothing an outsider could use:
no database error text, no versions.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.urls import path

logger = logging.getLogger("chassis.health")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.warning("readiness probe: database not reachable", exc_info=True)  # details in the log only
        return JsonResponse(
            {"code": "not_ready", "message": "The database is not reachable.", "details": {}}, status=503
        )
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]

"""Liveness and readiness endpoints: `/healthz` (process up), `/readyz` (database reachable)."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.urls import path


def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return JsonResponse(
            {"code": "not_ready", "message": "The database is not reachable.", "details": {"error": str(exc)}},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": connection.vendor})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]

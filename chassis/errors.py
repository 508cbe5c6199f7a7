"""Domain errors and the one error shape every service answers with.

A domain error knows its HTTP status and machine code, the way DRF's exceptions
do; `exception_handler` turns every error, ours or DRF's, into
`{"code", "message", "details"}`. Nothing here decides business rules.

A database that fails a request (down, restarting, read-only, out of space) is not the caller's
fault and not a bug: it answers 503 with a code that says which (`database_unavailable`,
`database_read_only`, `storage_full`), and the caller may try again with the same Idempotency-Key.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, connections
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework import status
from rest_framework.response import Response

from chassis.auth import InvalidToken, KeysUnavailable, www_authenticate

logger = logging.getLogger("chassis.errors")


class DomainError(Exception):
    """A business rule said no. Subclasses set `status_code` and `code`."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "domain_error"
    message = "The request breaks a business rule."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.message
        self.details = details
        super().__init__(self.message)


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    message = "Not found."


class PermissionDenied(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    message = "You may not do this."


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    message = "The request conflicts with the current state."


class DatabaseUnavailable(DomainError):
    """503: the database cannot serve this request right now (down, restarting, unreachable)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "database_unavailable"
    message = "The database is not reachable right now; retry shortly with the same Idempotency-Key."


class DatabaseReadOnly(DatabaseUnavailable):
    """503: the database refuses writes (a read-only file or server); reads still answer."""

    code = "database_read_only"
    message = "The database takes no writes right now; nothing was changed. Reads still answer."


class StorageFull(DatabaseUnavailable):
    """503: the database's storage is full, so nothing could be written; reads still answer."""

    code = "storage_full"
    message = "The database's storage is full; nothing was changed. Reads still answer."


# How each driver names these failures: SQLite's result codes (sqlite3's `sqlite_errorname`, extended
# codes included) and PostgreSQL's SQLSTATEs (psycopg's `sqlstate`): 53100 disk_full,
# 25006 read_only_sql_transaction.
_SQLITE_FAILURES = (("SQLITE_FULL", StorageFull), ("SQLITE_READONLY", DatabaseReadOnly))
_POSTGRES_FAILURES = {"53100": StorageFull, "25006": DatabaseReadOnly}


def database_failure(error: DatabaseError) -> DatabaseUnavailable:
    """The 503 a database error becomes: storage full, read-only, or (anything else) unavailable.

    SQLite opens a file it may not write read-only, and the connection stays so for its whole life
    (CONN_MAX_AGE keeps it for minutes): a connection that was refused a write as read-only is closed
    at the end of this request, so the next one opens the file afresh and writes once the file does."""
    cause = error.__cause__
    sqlite_name = getattr(cause, "sqlite_errorname", None) or ""
    for prefix, failure in _SQLITE_FAILURES:
        if sqlite_name.startswith(prefix):
            if failure is DatabaseReadOnly:
                _retire_sqlite_connections()
            return failure()
    return _POSTGRES_FAILURES.get(getattr(cause, "sqlstate", None) or "", DatabaseUnavailable)()


def _retire_sqlite_connections() -> None:
    """Make this thread's SQLite connections obsolete: Django closes them when the request ends."""
    for connection in connections.all(initialized_only=True):
        if connection.vendor == "sqlite":
            connection.close_at = time.monotonic()


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def error_response(
    status_code: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JsonResponse:
    """The error shape for code that runs outside DRF (middleware, URL handlers)."""
    return JsonResponse(error_body(code, message, details), status=status_code)


THROTTLED = "throttled"
"""The code of every 429: a rate limit was met (the answer's Retry-After says when to try again)."""

# DRF exception class -> our machine code. Order matters: first match wins.
_DRF_CODES: tuple[tuple[type[drf.APIException], str], ...] = (
    (InvalidToken, "invalid_token"),
    (KeysUnavailable, "auth_unavailable"),
    (drf.ValidationError, "validation_error"),
    (drf.ParseError, "malformed_json"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.NotFound, "not_found"),
    (drf.NotAuthenticated, "not_authenticated"),
    (drf.AuthenticationFailed, "authentication_failed"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.Throttled, THROTTLED),
)


def _drf_error(exc: drf.APIException) -> Response:
    code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "bad_request")
    headers = {}
    details: dict[str, Any]
    if isinstance(exc, drf.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = "The request body is not valid."
    else:
        details, message = {}, str(exc.detail)
    if exc.status_code == status.HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = www_authenticate(exc)
    wait: float | None = None
    if isinstance(exc, drf.Throttled):
        wait = exc.wait  # type: ignore[attr-defined]  # DRF sets it in __init__; the stubs leave it out
    if wait is not None:
        retry_after = max(1, math.ceil(wait))
        headers["Retry-After"] = str(retry_after)
        details, message = (
            {"retry_after_seconds": retry_after},
            f"Too many requests; retry in {retry_after} s.",
        )
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every failure leaves in the one error shape."""
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RecursionError):  # JSON nested deeper than the parser can follow
        exc = drf.ParseError("The JSON body is nested too deeply.")
    elif isinstance(exc, DatabaseError):
        logger.error("database error: %s", exc, exc_info=exc)
        exc = database_failure(exc)
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, drf.APIException):
        return _drf_error(exc)
    logger.exception("unhandled error")
    return Response(
        error_body("internal_error", "Something went wrong on our side."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler404: unknown URLs answer with the error shape, not an HTML page."""
    return error_response(404, "not_found", f"No such resource: {request.path}")


def server_error_view(request: HttpRequest) -> JsonResponse:
    """handler500: the last line of defence keeps the error shape too."""
    return error_response(500, "internal_error", "Something went wrong on our side.")


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler400: Django-level rejections (bad Host, oversized form data)."""
    return error_response(400, "bad_request", "The request could not be understood.")

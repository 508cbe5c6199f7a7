"""Domain errors and the one error shape every service answers with.

A domain error knows its HTTP status and machine code, the way DRF's exceptions
do; `exception_handler` turns every error, ours or DRF's, into
`{"code", "message", "details"}`. Nothing here decides business rules.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
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


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def error_response(
    status_code: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JsonResponse:
    """The error shape for code that runs outside DRF (middleware, URL handlers)."""
    return JsonResponse(error_body(code, message, details), status=status_code)


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
    (drf.Throttled, "throttled"),
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
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, drf.APIException):
        return _drf_error(exc)
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
        return Response(
            error_body("service_unavailable", "The database is not reachable right now."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
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

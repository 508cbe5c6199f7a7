"""Request middleware shared by the services: log context, access log, whole bodies within limits,
cross-origin answers for exact origins only, and the admin's own stack for the admin alone.

It reads headers only; it never touches the database or the body's meaning.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from corsheaders.middleware import CorsMiddleware
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from chassis.conf import shared_settings
from chassis.cors import wide_cors_refusals
from chassis.errors import database_failure, error_response
from chassis.settings import ADMIN_PREFIX
from observability.logs import log_context

logger = logging.getLogger("chassis.request")

GetResponse = Callable[[HttpRequest], HttpResponse]
"""What a middleware wraps: the rest of the stack, down to the view."""


class RequestContextMiddleware:
    """Binds X-Order-Id / X-Workflow-Id (sent by the saga) and X-Request-ID (set by the gateway) to
    the logs, and writes one access line."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        with log_context(
            order_id=request.headers.get("X-Order-Id"),
            workflow_id=request.headers.get("X-Workflow-Id"),
            request_id=request.headers.get("X-Request-ID", "")[:200] or None,
        ):
            response = self.get_response(request)
            if not request.path.startswith(("/healthz", "/readyz")):
                logger.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "fields": {
                            "method": request.method,
                            "path": request.path,
                            "status": response.status_code,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        }
                    },
                )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view outside DRF (the identity provider's endpoints, the admin) whose database failed
        answers the 503 an API view would, in the error shape, rather than Django's 500."""
        if not isinstance(exception, DatabaseError):
            return None
        logger.error("database error: %s", exception, exc_info=exception)
        failure = database_failure(exception)
        return error_response(failure.status_code, failure.code, failure.message)


class RequestBodyMiddleware:
    """Refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413) and one cut short of its Content-Length
    (400: its client died or was cut off mid-request; answering it as if it were the whole body
    would store a wrong answer under its Idempotency-Key and refuse the client's retry)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "bad_request", "Content-Length is not a number.")
        if limit is not None and length > limit:
            return error_response(
                413,
                "payload_too_large",
                f"The body is larger than {limit} bytes.",
                {"max_bytes": limit},
            )
        if length and len(request.body) < length:
            return error_response(400, "incomplete_body", "The body ended before its Content-Length.")
        return self.get_response(request)


class ExactOriginCorsMiddleware(CorsMiddleware):
    """django-cors-headers' middleware (chassis.cors has its settings), which refuses to start on
    settings that allow more than exact origins: a server so configured serves nothing at all.
    Without an allowed origin it leaves the stack, so that no request pays for it and no answer
    changes."""

    def __init__(self, get_response: GetResponse) -> None:
        refusals = wide_cors_refusals(settings)
        if refusals:
            raise ImproperlyConfigured(refusals[0])
        if not shared_settings.CORS_ALLOWED_ORIGINS:
            raise MiddlewareNotUsed
        super().__init__(get_response)


ADMIN_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)


class AdminOnlyMiddleware:
    """Runs sessions, users and messages for requests under /admin/ only.

    The API authenticates every request by its bearer token and keeps no session, so these three
    would only cost every API request its time. They wrap the admin's requests in the order Django
    would run them. CSRF protection stays in MIDDLEWARE for every request (the API's views are
    exempt from it, as DRF's views are).
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        admin: GetResponse = get_response
        for path in reversed(ADMIN_MIDDLEWARE):
            admin = import_string(path)(admin)
        self.admin = admin

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(ADMIN_PREFIX):
            return self.admin(request)
        return self.get_response(request)

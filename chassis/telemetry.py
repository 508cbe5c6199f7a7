"""Traces and metrics of a service.

Each service's wsgi.py, which gunicorn imports in every worker after it forks, serves `traced(its
application)`: tracing starts there, so the exporter's thread is born in the process that uses it.
Each request is a server span of OpenTelemetry's WSGI instrumentation, named after the route that
answered it by SpanRouteMiddleware; the probes and /metrics make none. (The WSGI instrumentation
rather than the Django one: the Django one makes the same span and attributes at about 0.5 M more
instructions per request, resolving each URL a second time and rebuilding it three times;
docs/benchmarks.md.)

`/metrics` answers Prometheus: django-prometheus's request and response metrics, summed
over gunicorn's worker processes when PROMETHEUS_MULTIPROC_DIR is set (as `sagactl up` sets it),
plus, read from the database at scrape time, its events outbox (chassis.events.metrics) and the
collectors a service names in METRICS_COLLECTORS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import path
from django.utils.module_loading import import_string
from opentelemetry import trace
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE
from opentelemetry.util.http import sanitize_method
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from chassis.conf import shared_settings
from observability.tracing import start_tracing

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from opentelemetry.trace import TracerProvider

UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def traced(application: WSGIApplication, tracer_provider: TracerProvider | None = None) -> WSGIApplication:
    """`application` with each request in a server span, once this process's tracing has started
    (else `application` itself); the probes and /metrics go straight through, untraced. The spans go
    to this process's provider, or to `tracer_provider` when one is given (the tests')."""
    if (
        tracer_provider is None
        and start_tracing(shared_settings.LOG_SERVICE, shared_settings.TRACING) is None
    ):
        return application
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    spanned = OpenTelemetryMiddleware(application, tracer_provider=tracer_provider)

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in UNTRACED_PATHS:
            return application(environ, start_response)
        answer: Iterable[bytes] = spanned(environ, start_response)  # the instrumentation is unannotated
        return answer

    return serve


class SpanRouteMiddleware:
    """Names the request's server span after the route that answered it (`POST api/v1/orders`, and
    `http.route`), or after its method alone when no route did, so that a span's name never holds
    what a caller wrote in the path; records the exception of a view that raised one. The first of
    the middleware: it sees every answer, those of the middleware that answer by themselves too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        span = trace.get_current_span()
        if span.is_recording():
            method = sanitize_method(request.method or "")
            match = request.resolver_match
            route = match.route if match is not None else ""
            if route:
                span.set_attribute(HTTP_ROUTE, route)
            name = "HTTP" if method == "_OTHER" else method
            span.update_name(f"{name} {route}" if route else name)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        span = trace.get_current_span()
        if span.is_recording():
            span.record_exception(exception)


@cache
def _own_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    for dotted in [
        "chassis.events.metrics.EventOutboxCollector",
        *getattr(settings, "METRICS_COLLECTORS", []),
    ]:
        registry.register(import_string(dotted)())
    return registry


def metrics(request: HttpRequest) -> HttpResponse:
    if shared_settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client's is unannotated
    else:
        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(_own_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


urlpatterns = [path("metrics", metrics, name="metrics")]

"""Traces and metrics of a service.

`start_tracing_requests` is called by each service's wsgi.py, which gunicorn imports in every worker
after it forks: the exporter's thread is born in the process that uses it. Requests are traced,
the probes and /metrics are not.

`/metrics` answers Prometheus: django-prometheus's request and response metrics, summed
over gunicorn's worker processes when PROMETHEUS_MULTIPROC_DIR is set (as `sagactl up` sets it),
plus, read from the database at scrape time, its events outbox (chassis.events.metrics) and the
collectors a service names in METRICS_COLLECTORS.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.module_loading import import_string
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from chassis.conf import shared_settings
from observability.tracing import start_tracing

UNTRACED_PATHS = ("/healthz", "/readyz", "/metrics")


def start_tracing_requests() -> None:
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    if start_tracing(shared_settings.LOG_SERVICE, shared_settings.TRACING) is not None:
        DjangoInstrumentor().instrument(excluded_urls=",".join(f"{p}$" for p in UNTRACED_PATHS))


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

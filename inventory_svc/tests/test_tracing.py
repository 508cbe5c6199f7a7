"""A request's server span: OpenTelemetry's WSGI instrumentation around the service (as
each wsgi.py serves it, `chassis.telemetry.traced`), named by SpanRouteMiddleware after the route that answered,
never after what the caller wrote in the path, and continuing the caller's trace."""

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import RequestFactory
from django.urls import path
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from chassis.telemetry import traced

CALLER_TRACE, CALLER_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


@pytest.fixture
def serve():
    """Serve one request through the service's application as its wsgi.py serves it (`traced`), the
    spans kept in memory; its status and its spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    application = traced(get_wsgi_application(), tracer_provider=provider)

    def one(method: str, path: str, **headers: str) -> tuple[int, list[ReadableSpan]]:
        environ = RequestFactory().generic(method, path, headers=headers).environ
        statuses: list[str] = []
        b"".join(application(environ, lambda status, _headers, _exc_info=None: statuses.append(status)))
        spans = list(exporter.get_finished_spans())
        exporter.clear()
        return int(statuses[0].split()[0]), spans

    # As Django's test client does: a request's end must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield one
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    provider.shutdown()


def test_a_span_is_named_after_the_route_and_continues_the_callers_trace(serve):
    status, (span,) = serve("GET", "/api/docs/schema.json", traceparent=f"00-{CALLER_TRACE}-{CALLER_SPAN}-01")

    assert status == 200
    assert span.name == "GET api/docs/schema.json"
    assert span.kind is SpanKind.SERVER
    assert span.attributes["http.route"] == "api/docs/schema.json"
    assert span.attributes["http.status_code"] == 200
    assert f"{span.context.trace_id:032x}" == CALLER_TRACE
    assert f"{span.parent.span_id:016x}" == CALLER_SPAN


@pytest.mark.parametrize("path", ["/api/v1/<script>alert(1)</script>", "/internal/v1/" + "x" * 500])
def test_a_path_no_route_answered_never_names_a_span(serve, path):
    status, (span,) = serve("GET", path)

    assert status == 404
    assert span.name == "GET"
    assert "http.route" not in span.attributes


def test_an_unknown_method_names_its_span_as_http(serve):
    status, (span,) = serve("BREW", "/api/docs/schema.json")

    assert status == 405
    assert span.name == "HTTP api/docs/schema.json"


def _broken(request):
    raise RuntimeError("the view broke")


urlpatterns = [path("broken", _broken)]


@pytest.mark.urls(__name__)
def test_a_view_that_raises_leaves_its_exception_on_a_failed_span(serve):
    status, (span,) = serve("GET", "/broken")

    assert status == 500
    assert span.name == "GET broken"
    assert span.status.status_code is StatusCode.ERROR
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.message"] == "the view broke"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_the_probes_and_the_metrics_make_no_span(serve, path):
    status, spans = serve("GET", path)

    assert status == 200
    assert spans == []

"""Every service's URL map, the same for all three (settings.ROOT_URLCONF).

Health, metrics, the API documentation, fault injection, the saga's purge of expired idempotency
records, the events outbox's listing and the admin come from the chassis; the
service's own app gives its public API (`urlpatterns`, under api/v1/) and the saga's commands
(`internal_urlpatterns`, under internal/v1/) in the module settings.SERVICE_URLCONF names.
"""

from importlib import import_module

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from chassis.conf import shared_settings
from chassis.settings import ADMIN_PREFIX

_service = import_module(shared_settings.SERVICE_URLCONF)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("chassis.health")),
    path("", include("chassis.telemetry")),  # /metrics, for Prometheus (never routed by the gateway)
    path("", include("chassis.api_docs")),  # api/docs/: the OpenAPI schema and Swagger UI
    path("", include("chassis.faults")),  # api/v1/faults: 404 unless SAGA_CHAOS=1
    path("", include("chassis.idempotency.apis")),  # internal/v1/idempotency-records/purge
    path("", include("chassis.events.apis")),  # api/v1/events: the events outbox, for operators
    path(ADMIN_PREFIX.lstrip("/"), admin.site.urls),
    path("api/v1/", include(_service.urlpatterns)),
    path("internal/v1/", include(_service.internal_urlpatterns)),
]

handler400 = "chassis.errors.bad_request_view"
handler404 = "chassis.errors.not_found_view"
handler500 = "chassis.errors.server_error_view"

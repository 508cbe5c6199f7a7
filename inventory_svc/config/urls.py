"""URL map of inventory_svc: health, fault injection, admin, the v1 API and the saga's internal commands."""

from django.contrib import admin
from django.urls import include, path
from inventory.urls import internal_urlpatterns

from chassis.settings import ADMIN_PREFIX

urlpatterns = [
    path("", include("chassis.health")),
    path("", include("chassis.telemetry")),  # /metrics, for Prometheus (never routed by the gateway)
    path("", include("chassis.api_docs")),  # api/docs/: the OpenAPI schema and Swagger UI
    path("", include("chassis.faults")),  # internal/v1/faults: 404 unless SAGA_CHAOS=1
    path(ADMIN_PREFIX.lstrip("/"), admin.site.urls),
    path("api/v1/", include("inventory.urls")),
    path("internal/v1/", include(internal_urlpatterns)),
]

handler400 = "chassis.errors.bad_request_view"
handler404 = "chassis.errors.not_found_view"
handler500 = "chassis.errors.server_error_view"

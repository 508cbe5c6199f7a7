"""URL map of payment_svc: health, fault injection, admin and the v1 API."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("chassis.health")),
    path("", include("chassis.faults")),  # internal/v1/faults: 404 unless SAGA_CHAOS=1
    path("admin/", admin.site.urls),
    path("api/v1/", include("payments.urls")),
]

handler400 = "chassis.errors.bad_request_view"
handler404 = "chassis.errors.not_found_view"
handler500 = "chassis.errors.server_error_view"

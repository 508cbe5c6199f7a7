"""URL map of a framework floor process: the same paths as the product's service, for its commands
only, and /readyz for the bench to wait on."""

from django.conf import settings
from django.http import HttpResponse
from django.urls import path


def readyz(request) -> HttpResponse:
    return HttpResponse(b"ok")


def _commands() -> list:
    if settings.FLOOR_SERVICE == "inventory":
        from infra.bench.framework_floor import inventory_views as views

        return [
            path("internal/v1/reservations", views.ReserveView.as_view()),
            path("internal/v1/reservations/<uuid:order_id>/release", views.ReleaseView.as_view()),
            path("internal/v1/reservations/<uuid:order_id>/commit", views.CommitView.as_view()),
        ]
    if settings.FLOOR_SERVICE == "payment":
        from infra.bench.framework_floor import payment_views as views

        return [
            path("internal/v1/payments/authorize", views.AuthorizeView.as_view()),
            path(
                "internal/v1/payments/void", views.OrderRefView.as_view(command=views.services.payment_void)
            ),
            path(
                "internal/v1/payments/capture",
                views.OrderRefView.as_view(command=views.services.payment_capture),
            ),
        ]
    from infra.bench.framework_floor import order_views as views

    return [
        path("api/v1/orders", views.PlaceView.as_view()),
        path("internal/v1/orders/<uuid:order_id>/confirm", views.ConfirmView.as_view()),
        path("internal/v1/orders/<uuid:order_id>/cancel", views.CancelView.as_view()),
    ]


urlpatterns = [path("readyz", readyz), *_commands()]

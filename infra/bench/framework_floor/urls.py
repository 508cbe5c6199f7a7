"""URL map of a framework floor process: the same paths as the product's service, for its commands
only, and /readyz for the bench to wait on."""

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

# The floor's own settings module, which Django has loaded as its settings already.
from infra.bench.framework_floor.settings import FLOOR_SERVICE


def readyz(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok")


def _commands() -> list[URLPattern]:
    if FLOOR_SERVICE == "inventory":
        from inventory import services as inventory_services

        from infra.bench.framework_floor import inventory_views

        return [
            path("internal/v1/reservations", inventory_views.ReserveView.as_view()),
            path(
                "internal/v1/reservations/<uuid:order_id>/release",
                inventory_views.ReservationCommandView.as_view(
                    command=inventory_services.reservation_release
                ),
            ),
            path(
                "internal/v1/reservations/<uuid:order_id>/commit",
                inventory_views.ReservationCommandView.as_view(command=inventory_services.reservation_commit),
            ),
        ]
    if FLOOR_SERVICE == "payment":
        from payments import services

        from infra.bench.framework_floor import payment_views

        return [
            path("internal/v1/payments/authorize", payment_views.AuthorizeView.as_view()),
            path(
                "internal/v1/payments/void",
                payment_views.OrderRefView.as_view(command=services.payment_void),
            ),
            path(
                "internal/v1/payments/capture",
                payment_views.OrderRefView.as_view(command=services.payment_capture),
            ),
        ]
    from infra.bench.framework_floor import order_views

    return [
        path("api/v1/orders", order_views.PlaceView.as_view()),
        path("internal/v1/orders/<uuid:order_id>/confirm", order_views.ConfirmView.as_view()),
        path("internal/v1/orders/<uuid:order_id>/cancel", order_views.CancelView.as_view()),
    ]


urlpatterns = [path("readyz", readyz), *_commands()]

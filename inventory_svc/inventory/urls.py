from django.urls import path

from chassis.idempotency.decorators import idempotent
from inventory import apis

urlpatterns = [
    path("products", idempotent(apis.ProductCollectionApi.as_view()), name="products"),
    path("products/<str:sku>", apis.ProductDetailApi.as_view(), name="product-detail"),
    path("reservations", idempotent(apis.ReservationCollectionApi.as_view()), name="reservations"),
    path("reservations/<uuid:order_id>", apis.ReservationDetailApi.as_view(), name="reservation-detail"),
    path("reservations/<uuid:order_id>/release", idempotent(apis.ReservationReleaseApi.as_view()),
         name="reservation-release"),
    path("reservations/<uuid:order_id>/commit", idempotent(apis.ReservationCommitApi.as_view()),
         name="reservation-commit"),
    path("reservation-events", apis.ReservationEventListApi.as_view(), name="reservation-events"),
]

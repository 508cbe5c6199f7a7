from django.urls import path

from inventory import apis

urlpatterns = [
    path("catalog", apis.CatalogApi.as_view(), name="catalog"),
    path("products", apis.ProductCollectionApi.as_view(), name="products"),
    path("products/<str:sku>", apis.ProductDetailApi.as_view(), name="product-detail"),
    path("products/<str:sku>/restock", apis.ProductRestockApi.as_view(), name="product-restock"),
    path("reservations", apis.ReservationListApi.as_view(), name="reservations"),
    path("reservations/<uuid:order_id>", apis.ReservationDetailApi.as_view(), name="reservation-detail"),
    path("reservation-events", apis.ReservationEventListApi.as_view(), name="reservation-events"),
]

# The saga's commands: the saga's identity only.
internal_urlpatterns = [
    path("reservations", apis.ReservationCreateApi.as_view(), name="reservation-create"),
    path(
        "reservations/<uuid:order_id>/release",
        apis.ReservationReleaseApi.as_view(),
        name="reservation-release",
    ),
    path(
        "reservations/<uuid:order_id>/commit", apis.ReservationCommitApi.as_view(), name="reservation-commit"
    ),
]

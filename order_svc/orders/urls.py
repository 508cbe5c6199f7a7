from django.urls import path

from chassis.idempotency.decorators import idempotent
from orders import apis

urlpatterns = [
    path("orders", idempotent(apis.OrderCollectionApi.as_view()), name="orders"),
    path("orders/<uuid:order_id>", apis.OrderDetailApi.as_view(), name="order-detail"),
]

internal_urlpatterns = [
    path("orders/<uuid:order_id>/confirm", idempotent(apis.OrderConfirmApi.as_view()), name="order-confirm"),
    path("orders/<uuid:order_id>/cancel", idempotent(apis.OrderCancelApi.as_view()), name="order-cancel"),
]

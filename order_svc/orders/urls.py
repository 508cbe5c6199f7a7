from django.urls import path

from orders import apis

urlpatterns = [
    path("orders", apis.OrderCollectionApi.as_view(), name="orders"),
    path("orders/<uuid:order_id>", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<uuid:order_id>/cancel", apis.OrderCancelRequestApi.as_view(), name="order-cancel-request"),
    path("orders/<uuid:order_id>/saga", apis.OrderSagaApi.as_view(), name="order-saga"),
    # The saga's operations, for operators.
    path("operations/breakers", apis.BreakerListApi.as_view(), name="operations-breakers"),
    path("operations/audit", apis.AuditLatestApi.as_view(), name="operations-audit"),
]

# The saga's reports: the saga's identity only.
internal_urlpatterns = [
    path("orders/<uuid:order_id>/confirm", apis.OrderConfirmApi.as_view(), name="order-confirm"),
    path("orders/<uuid:order_id>/cancel", apis.OrderCancelApi.as_view(), name="order-cancel"),
]

from django.urls import path

from chassis.idempotency.decorators import idempotent
from payments import apis

urlpatterns = [
    path("accounts", idempotent(apis.AccountCollectionApi.as_view()), name="accounts"),
    path("accounts/<str:customer_id>", apis.AccountDetailApi.as_view(), name="account-detail"),
    path("merchant", apis.MerchantApi.as_view(), name="merchant"),
    path("payments", apis.PaymentListApi.as_view(), name="payments"),
    path("payments/authorize", idempotent(apis.PaymentAuthorizeApi.as_view()), name="payment-authorize"),
    path("payments/void", idempotent(apis.PaymentVoidApi.as_view()), name="payment-void"),
    path("payments/capture", idempotent(apis.PaymentCaptureApi.as_view()), name="payment-capture"),
    path("payment-events", apis.PaymentEventListApi.as_view(), name="payment-events"),
]

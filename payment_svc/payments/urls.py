from django.urls import path

from payments import apis

urlpatterns = [
    path("accounts", apis.AccountCollectionApi.as_view(), name="accounts"),
    path("accounts/<str:customer_id>", apis.AccountDetailApi.as_view(), name="account-detail"),
    path("accounts/<str:customer_id>/deposits", apis.AccountDepositApi.as_view(), name="account-deposit"),
    path("merchant", apis.MerchantApi.as_view(), name="merchant"),
    path("payments", apis.PaymentListApi.as_view(), name="payments"),
    path("payment-events", apis.PaymentEventListApi.as_view(), name="payment-events"),
]

# The saga's commands: the saga's identity only.
internal_urlpatterns = [
    path("payments/authorize", apis.PaymentAuthorizeApi.as_view(), name="payment-authorize"),
    path("payments/void", apis.PaymentVoidApi.as_view(), name="payment-void"),
    path("payments/capture", apis.PaymentCaptureApi.as_view(), name="payment-capture"),
]

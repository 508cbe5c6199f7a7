from typing import TYPE_CHECKING

from django.contrib import admin

from chassis.admin import ReadOnlyAdmin
from payments.models import Account, MerchantAccount, Payment, PaymentEvent

if TYPE_CHECKING:
    # The stubs make the admin's classes generic in their models; Django's own take no parameters.
    _AccountAdmin = admin.ModelAdmin[Account]
    _MerchantAccountAdmin = admin.ModelAdmin[MerchantAccount]
    _PaymentAdmin = admin.ModelAdmin[Payment]
else:
    _AccountAdmin = _MerchantAccountAdmin = _PaymentAdmin = admin.ModelAdmin


@admin.register(Account)
class AccountAdmin(_AccountAdmin):
    list_display = ("customer_id", "balance_cents", "held_cents", "deposited_cents", "currency")
    search_fields = ("customer_id",)


@admin.register(MerchantAccount)
class MerchantAccountAdmin(_MerchantAccountAdmin):
    list_display = ("id", "balance_cents", "currency", "updated_at")


@admin.register(Payment)
class PaymentAdmin(_PaymentAdmin):
    list_display = ("order_id", "customer_id", "amount_cents", "currency", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("order_id", "customer_id")


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    """The ledger is append-only."""

    list_display = ("created_at", "order_id", "kind", "amount_cents", "idempotency_key")
    list_filter = ("kind",)
    search_fields = ("order_id", "idempotency_key")

from django.contrib import admin

from chassis.admin import ReadOnlyAdmin
from payments.models import Account, MerchantAccount, Payment, PaymentEvent


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("customer_id", "balance_cents", "held_cents", "deposited_cents", "currency")
    search_fields = ("customer_id",)


@admin.register(MerchantAccount)
class MerchantAccountAdmin(admin.ModelAdmin):
    list_display = ("id", "balance_cents", "currency", "updated_at")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("order_id", "customer_id", "amount_cents", "currency", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("order_id", "customer_id")


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    """The ledger is append-only."""

    list_display = ("created_at", "order_id", "kind", "amount_cents", "idempotency_key")
    list_filter = ("kind",)
    search_fields = ("order_id", "idempotency_key")

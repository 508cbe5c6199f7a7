from django.contrib import admin

from payments.models import Account, MerchantAccount, Payment


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("customer_id", "balance_cents", "held_cents", "currency")
    search_fields = ("customer_id",)


@admin.register(MerchantAccount)
class MerchantAccountAdmin(admin.ModelAdmin):
    list_display = ("id", "balance_cents", "currency", "updated_at")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("order_id", "customer_id", "amount_cents", "currency", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("order_id", "customer_id")

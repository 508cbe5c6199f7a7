from django.contrib import admin

from orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ("sku", "quantity", "unit_price_cents")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "customer_id", "status", "cancellation_reason", "total_cents", "created_at")
    list_filter = ("status", "cancellation_reason")
    search_fields = ("id", "customer_id")
    inlines = [OrderLineInline]

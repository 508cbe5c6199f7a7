from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest

from orders.models import Order, OrderLine, OutboxRecord

if TYPE_CHECKING:
    # The stubs make the admin's classes generic in their models; Django's own take no parameters.
    _OrderLineInline = admin.TabularInline[OrderLine, Order]
    _OrderAdmin = admin.ModelAdmin[Order]
    _OutboxRecordAdmin = admin.ModelAdmin[OutboxRecord]
else:
    _OrderLineInline = admin.TabularInline
    _OrderAdmin = _OutboxRecordAdmin = admin.ModelAdmin


class OrderLineInline(_OrderLineInline):
    model = OrderLine
    extra = 0
    readonly_fields = ("sku", "quantity", "unit_price_cents")


@admin.register(Order)
class OrderAdmin(_OrderAdmin):
    list_display = ("id", "customer_id", "status", "cancellation_reason", "total_cents", "created_at")
    list_filter = ("status", "cancellation_reason")
    search_fields = ("id", "customer_id")
    inlines = [OrderLineInline]


@admin.register(OutboxRecord)
class OutboxRecordAdmin(_OutboxRecordAdmin):
    """Read-only: the relay owns these rows; an operator looks at what is stuck and why."""

    list_display = ("workflow_id", "created_at", "started_at", "attempts", "next_attempt_at", "last_error")
    list_filter = (("started_at", admin.EmptyFieldListFilter),)
    search_fields = ("order__id",)
    readonly_fields = [field.name for field in OutboxRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxRecord | None = None) -> bool:
        return False

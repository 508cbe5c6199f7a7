from django.contrib import admin

from chassis.admin import ReadOnlyAdmin
from inventory.models import Product, Reservation, ReservationEvent, ReservationLine


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "price_cents", "on_hand", "reserved", "received")
    search_fields = ("sku", "name")


class ReservationLineInline(admin.TabularInline):
    model = ReservationLine
    extra = 0
    readonly_fields = ("product", "quantity", "unit_price_cents")


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ("order_id", "status", "total_cents", "currency", "created_at")
    list_filter = ("status",)
    search_fields = ("order_id",)
    inlines = [ReservationLineInline]


@admin.register(ReservationEvent)
class ReservationEventAdmin(ReadOnlyAdmin):
    """The ledger is append-only."""

    list_display = ("created_at", "order_id", "kind", "idempotency_key")
    list_filter = ("kind",)
    search_fields = ("order_id", "idempotency_key")

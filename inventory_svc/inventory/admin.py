from typing import TYPE_CHECKING

from django.contrib import admin

from chassis.admin import ReadOnlyAdmin
from inventory.models import Product, Reservation, ReservationEvent, ReservationLine

if TYPE_CHECKING:
    # The stubs make the admin's classes generic in their models; Django's own take no parameters.
    _ProductAdmin = admin.ModelAdmin[Product]
    _ReservationAdmin = admin.ModelAdmin[Reservation]
    _ReservationLineInline = admin.TabularInline[ReservationLine, Reservation]
else:
    _ProductAdmin = _ReservationAdmin = admin.ModelAdmin
    _ReservationLineInline = admin.TabularInline


@admin.register(Product)
class ProductAdmin(_ProductAdmin):
    list_display = ("sku", "name", "price_cents", "on_hand", "reserved", "received")
    search_fields = ("sku", "name")


class ReservationLineInline(_ReservationLineInline):
    model = ReservationLine
    extra = 0
    readonly_fields = ("product", "quantity", "unit_price_cents")


@admin.register(Reservation)
class ReservationAdmin(_ReservationAdmin):
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

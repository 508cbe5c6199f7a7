from typing import TYPE_CHECKING

from django.contrib import admin

from chassis.idempotency.models import IdempotencyRecord

if TYPE_CHECKING:
    # The stubs make the admin's classes generic in their models; Django's own take no parameters.
    _IdempotencyRecordAdmin = admin.ModelAdmin[IdempotencyRecord]
else:
    _IdempotencyRecordAdmin = admin.ModelAdmin


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(_IdempotencyRecordAdmin):
    list_display = ("principal", "scope", "key", "state", "status_code", "created_at")
    list_filter = ("state", "status_code")
    search_fields = ("key", "scope", "principal")
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

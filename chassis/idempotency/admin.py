from django.contrib import admin

from chassis.idempotency.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("principal", "scope", "key", "state", "status_code", "created_at")
    list_filter = ("state", "status_code")
    search_fields = ("key", "scope", "principal")
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

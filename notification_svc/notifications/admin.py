from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest

from chassis.admin import ReadOnlyAdmin
from notifications.models import CustomerContact, InboxRecord, Notification

if TYPE_CHECKING:
    # The stubs make the admin's classes generic in their models; Django's own take no parameters.
    _NotificationAdmin = admin.ModelAdmin[Notification]
else:
    _NotificationAdmin = admin.ModelAdmin


@admin.register(Notification)
class NotificationAdmin(_NotificationAdmin):
    """Read-only: the sender owns these rows; an operator looks at what is not getting out and why."""

    list_display = (
        "id",
        "type",
        "order_id",
        "customer_id",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "type")
    search_fields = ("id", "order_id", "customer_id", "event_id")
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False


@admin.register(InboxRecord)
class InboxRecordAdmin(ReadOnlyAdmin):
    """The inbox is append-only: a record removed would let its event be handled again."""

    list_display = ("received_at", "type", "event_id")
    list_filter = ("type",)
    search_fields = ("event_id",)


@admin.register(CustomerContact)
class CustomerContactAdmin(ReadOnlyAdmin):
    """The registrations of identity_svc own these rows; an operator looks up where a customer's mail
    goes."""

    list_display = ("customer_id", "email", "updated_at")
    search_fields = ("customer_id", "email")

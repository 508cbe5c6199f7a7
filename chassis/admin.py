"""Admin pieces the services share."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For append-only ledgers: visible in the admin, never added to, changed or deleted there."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

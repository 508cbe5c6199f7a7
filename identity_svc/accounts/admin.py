from typing import TYPE_CHECKING

from django.contrib import admin

from accounts.models import SigningKey, User

if TYPE_CHECKING:
    # The stubs make the admin's classes generic in their models; Django's own take no parameters.
    _UserAdmin = admin.ModelAdmin[User]
    _SigningKeyAdmin = admin.ModelAdmin[SigningKey]
else:
    _UserAdmin = _SigningKeyAdmin = admin.ModelAdmin


@admin.register(User)
class UserAdmin(_UserAdmin):
    list_display = ["email", "subject", "role", "is_active", "date_joined"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "subject"]
    readonly_fields = ["subject", "password", "date_joined", "last_login"]


@admin.register(SigningKey)
class SigningKeyAdmin(_SigningKeyAdmin):
    """Which keys sign and until when each is published; never the private key itself."""

    list_display = ["kid", "created_at", "retired_at", "published_until"]
    exclude = ["private_pem"]
    readonly_fields = ["kid", "created_at", "retired_at", "published_until"]

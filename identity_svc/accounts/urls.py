from django.urls import URLPattern, path

from accounts import apis

urlpatterns = [
    path("users", apis.UserCollectionApi.as_view(), name="users"),
    path("me", apis.MeApi.as_view(), name="me"),
]

# The saga asks nothing of identity_svc: its worker only asks the token endpoint for tokens.
internal_urlpatterns: list[URLPattern] = []

from django.urls import URLPattern, path

from notifications import apis

urlpatterns = [
    path("notifications", apis.NotificationListApi.as_view(), name="notifications"),
    path(
        "notifications/<uuid:notification_id>",
        apis.NotificationDetailApi.as_view(),
        name="notification-detail",
    ),
]

# The saga asks nothing of this service: it hears of orders through integration events only.
internal_urlpatterns: list[URLPattern] = []

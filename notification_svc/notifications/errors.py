"""The notification service's business errors, each with its HTTP status and machine code."""

from chassis.errors import NotFound


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "No notification has this id."

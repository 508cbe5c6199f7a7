"""Reads of notifications and of the customers' email addresses. Nothing here changes state."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from notifications.errors import NotificationNotFound
from notifications.models import CustomerContact, Notification


def notification_get(*, notification_id: UUID, owner: str | None = None) -> Notification:
    """The notification; with `owner` (a customer reading), only if it is that customer's: another
    customer's is not found, not forbidden, so its existence is not confirmed."""
    notifications = Notification.objects.all()
    if owner is not None:
        notifications = notifications.filter(customer_id=owner)
    try:
        return notifications.get(id=notification_id)
    except Notification.DoesNotExist:
        raise NotificationNotFound(notification_id=str(notification_id)) from None


def notification_list(
    *,
    customer_id: str | None = None,
    status: str | None = None,
    order_id: UUID | None = None,
    owner: str | None = None,
) -> QuerySet[Notification]:
    """Notifications, newest first; with `owner`, that customer's only, whatever the filters ask."""
    notifications = Notification.objects.all()
    if owner is not None:
        notifications = notifications.filter(customer_id=owner)
    if customer_id:
        notifications = notifications.filter(customer_id=customer_id)
    if status:
        notifications = notifications.filter(status=status)
    if order_id:
        notifications = notifications.filter(order_id=order_id)
    return notifications


def contact_email_of(customer_id: str) -> str | None:
    """The email address identity_svc registered for the customer, or None if none is known yet."""
    return CustomerContact.objects.filter(customer_id=customer_id).values_list("email", flat=True).first()

"""The notification service's REST API: reads only.

A customer reads the notifications about its own orders; an operator and the auditor read every
notification with its delivery state (recipient, attempts, last error, next attempt). Views validate,
call one selector, and serialize. No business logic here.
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chassis.api import ServiceApi
from chassis.auth import Principal
from chassis.fields import QuerySerializer, customer_id_field
from chassis.pagination import paginated_response
from chassis.permissions import AuditorReads, IsCustomer, IsOperator
from chassis.schema import PAGE_PARAMETERS, answers, page_of
from notifications import selectors
from notifications.errors import NotificationNotFound
from notifications.models import Notification


def _caller(request: Request) -> Principal:
    """Who calls: every view here admits only callers that JwtAuthentication made a Principal of."""
    return cast(Principal, request.user)


class NotificationOutputSerializer(serializers.Serializer[Notification]):
    """A notification as its customer sees it."""

    id = serializers.UUIDField()
    order_id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=Notification.Type.choices)
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=Notification.Status.choices)
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class NotificationDeliveryOutputSerializer(NotificationOutputSerializer):
    """A notification with its delivery state, as operators and the auditor see it. The delivery
    fields are optional in the schema because a customer's answer leaves them out."""

    customer_id = serializers.CharField(required=False, help_text="Operators and the auditor only.")
    recipient = serializers.CharField(required=False, help_text="Operators and the auditor only.")
    attempts = serializers.IntegerField(
        required=False, help_text="Sends tried, the successful one included. Operators and the auditor only."
    )
    last_error = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Why the last failed send failed. Operators and the auditor only.",
    )
    next_attempt_at = serializers.DateTimeField(
        required=False, help_text="When a pending notification is tried next. Operators and the auditor only."
    )


def _output_serializer(caller: Principal) -> type[NotificationOutputSerializer]:
    return (
        NotificationOutputSerializer
        if caller.customer_id is not None
        else NotificationDeliveryOutputSerializer
    )


class NotificationListApi(ServiceApi):
    """Notifications, newest first: a customer's own, or every one with its delivery state for an
    operator or the auditor."""

    permission_classes = [IsCustomer | IsOperator | AuditorReads]

    class FilterSerializer(QuerySerializer):
        customer_id = customer_id_field(required=False)
        status = serializers.ChoiceField(choices=Notification.Status.choices, required=False)
        order_id = serializers.UUIDField(required=False)

    @extend_schema(
        operation_id="listNotifications",
        summary="List notifications, newest first",
        tags=["notifications"],
        parameters=PAGE_PARAMETERS,
        responses=answers({200: page_of(NotificationDeliveryOutputSerializer)}),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        caller = _caller(request)
        return paginated_response(
            queryset=selectors.notification_list(**filters.validated_data, owner=caller.customer_id),
            serializer_class=_output_serializer(caller),
            request=request,
            view=self,
        )


class NotificationDetailApi(ServiceApi):
    """One notification: a customer's own (another's is not found), or any for an operator or the
    auditor, with its delivery state."""

    permission_classes = [IsCustomer | IsOperator | AuditorReads]

    @extend_schema(
        operation_id="getNotification",
        summary="Read a notification",
        tags=["notifications"],
        responses=answers({200: NotificationDeliveryOutputSerializer}, NotificationNotFound),
    )
    def get(self, request: Request, notification_id: UUID) -> Response:
        caller = _caller(request)
        notification = selectors.notification_get(notification_id=notification_id, owner=caller.customer_id)
        return Response(_output_serializer(caller)(notification).data)

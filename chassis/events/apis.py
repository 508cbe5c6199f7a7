"""`GET /api/v1/events`: a service's events outbox, for operators and the auditor: what was recorded,
about which key, and whether the broker has confirmed it. The audit checks from it that each state
change has exactly one event and that nothing is left waiting."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chassis.api import ServiceApi
from chassis.events.models import OutboxEvent
from chassis.fields import QuerySerializer
from chassis.pagination import paginated_response
from chassis.permissions import AuditorReads, IsOperator
from chassis.schema import PAGE_PARAMETERS, answers, page_of
from saga_contract.events import EventType


def event_list(
    *, type: str | None = None, key: str | None = None, published: bool | None = None
) -> QuerySet[OutboxEvent]:
    events = OutboxEvent.objects.all()
    if type is not None:
        events = events.filter(type=type)
    if key is not None:
        events = events.filter(key=key)
    if published is not None:
        events = events.filter(published_at__isnull=not published)
    return events.order_by("sequence")


class EventListApi(ServiceApi):
    """Operators and the auditor: the service's events, oldest first, paginated; filter `?type=`,
    `?key=`, `?published=true|false`."""

    permission_classes = [IsOperator | AuditorReads]

    class EventFilterSerializer(QuerySerializer):
        type = serializers.ChoiceField(choices=[event_type.value for event_type in EventType], required=False)
        key = serializers.CharField(max_length=64, required=False, trim_whitespace=False)
        published = serializers.BooleanField(required=False, default=None, allow_null=True)

    FilterSerializer = EventFilterSerializer  # its answers include a 400 (chassis.schema)

    class EventOutputSerializer(serializers.ModelSerializer[OutboxEvent]):
        id = serializers.UUIDField(source="event_id")

        class Meta:
            model = OutboxEvent
            fields = [
                "id",
                "sequence",
                "type",
                "version",
                "key",
                "occurred_at",
                "published_at",
                "attempts",
                "data",
            ]

    @extend_schema(
        operation_id="listEvents",
        summary="The integration events this service recorded, oldest first",
        tags=["events"],
        parameters=[*PAGE_PARAMETERS, EventFilterSerializer],
        responses=answers({200: page_of(EventOutputSerializer)}),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return paginated_response(
            queryset=event_list(**filters.validated_data),
            serializer_class=self.EventOutputSerializer,
            request=request,
            view=self,
        )


urlpatterns = [path("api/v1/events", EventListApi.as_view(), name="events")]

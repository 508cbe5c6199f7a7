"""`POST /internal/v1/idempotency-records/purge`: the saga's scheduled purge of expired records.

Every service serves it. It deletes the idempotency records older than the service's retention
(IDEMPOTENCY_RETENTION_HOURS), in short batches, and answers how many went. Only the worker's
identity may call it; the worker runs it from the idempotency purge schedule, never by reaching the
database itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chassis.api import ServiceApi
from chassis.conf import shared_settings
from chassis.errors import DomainError
from chassis.fields import StrictIntegerField, StrictSerializer
from chassis.idempotency.decorators import idempotent
from chassis.idempotency.services import idempotency_records_purge
from chassis.permissions import IsSaga
from chassis.schema import answers
from chassis.settings import MAX_RETENTION_HOURS
from saga_contract import IDEMPOTENCY_PURGE_PATH


class ShorterThanRetention(DomainError):
    """A purge asked to keep records for less than the service's retention: a valid number of hours
    that the service's setting refuses (`details.retention_hours`)."""

    status_code = 422
    code = "shorter_than_retention"
    message = "A purge keeps records at least for the service's retention (IDEMPOTENCY_RETENTION_HOURS)."


class IdempotencyPurgeOutputSerializer(serializers.Serializer[Any]):
    deleted = serializers.IntegerField(help_text="How many records were deleted.")
    older_than_hours = serializers.IntegerField(help_text="The age beyond which records were deleted.")


class IdempotencyRecordsPurgeApi(ServiceApi):
    """Delete the idempotency records older than the retention. A run may keep records longer than
    the setting (`older_than_hours`), never shorter, so that no retry can outlive its record."""

    permission_classes = [IsSaga]

    class InputSerializer(StrictSerializer):
        older_than_hours = StrictIntegerField(required=False, min_value=1, max_value=MAX_RETENTION_HOURS)

    @extend_schema(
        operation_id="purgeIdempotencyRecords",
        summary="The saga's schedule deletes the idempotency records older than the retention",
        tags=["saga"],
        responses=answers({200: IdempotencyPurgeOutputSerializer}, ShorterThanRetention),
        examples=[OpenApiExample("the service's retention", request_only=True, value={})],
    )
    @idempotent(atomic=False)  # each batch commits on its own, so no transaction holds the lock long
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        retention = shared_settings.IDEMPOTENCY_RETENTION_HOURS
        hours = serializer.validated_data.get("older_than_hours", retention)
        if hours < retention:
            raise ShorterThanRetention(retention_hours=retention)
        deleted = idempotency_records_purge(older_than=timedelta(hours=hours))
        return Response(
            IdempotencyPurgeOutputSerializer({"deleted": deleted, "older_than_hours": hours}).data
        )


urlpatterns = [
    path(
        IDEMPOTENCY_PURGE_PATH.removeprefix("/"),
        IdempotencyRecordsPurgeApi.as_view(),
        name="idempotency-records-purge",
    ),
]

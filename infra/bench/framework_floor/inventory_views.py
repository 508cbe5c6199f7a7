"""The inventory floor: reserve, release and commit, each the product's service function in the
floor's transaction (see recorded.py), taking the product's request bodies and answering with its
output serializer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from inventory import services
from inventory.apis import ReservationOutputSerializer as ReservationSerializer
from inventory.models import Reservation
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from infra.bench.framework_floor.recorded import SAGA, recorded_command


class ReserveView(APIView):
    class InputSerializer(serializers.Serializer[object]):
        class ItemSerializer(serializers.Serializer[object]):
            sku = serializers.CharField(max_length=64)
            quantity = serializers.IntegerField(min_value=1)

        order_id = serializers.UUIDField()
        items = ItemSerializer(many=True, allow_empty=False)

    def post(self, request: Request) -> HttpResponse:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def reserve(key: str) -> tuple[Mapping[str, object], int]:
            reservation, created = services.reservation_create(
                order_id=data["order_id"],
                items=[(item["sku"], item["quantity"]) for item in data["items"]],
                idempotency_key=key,
            )
            return ReservationSerializer(reservation).data, 201 if created else 200

        return recorded_command(request, principal=SAGA, effect=reserve)


class ReservationCommandView(APIView):
    """Release or commit: `command` is the service function (given to as_view), called with the order."""

    command: Callable[..., Reservation] | None = None

    def post(self, request: Request, order_id: UUID) -> HttpResponse:
        command = self.command
        if command is None:
            raise ImproperlyConfigured(
                "ReservationCommandView needs its service function: as_view(command=...)"
            )
        return recorded_command(
            request,
            principal=SAGA,
            effect=lambda key: (
                ReservationSerializer(command(order_id=order_id, idempotency_key=key)).data,
                200,
            ),
        )

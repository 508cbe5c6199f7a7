"""The order floor: placement, and the saga's confirm and cancel reports, each the product's service
function in the floor's transaction (see recorded.py), taking the product's request bodies and
answering with its output serializer. With no tokens, placement takes its customer from the body's
`customer_id` (which the product only accepts when it names the token's customer)."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from orders import services
from orders.apis import OrderOutputSerializer as OrderSerializer
from orders.models import Order
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from infra.bench.framework_floor.recorded import SAGA, recorded_command


class ItemSerializer(serializers.Serializer[object]):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1)


class PricedLineSerializer(ItemSerializer):
    unit_price_cents = serializers.IntegerField(min_value=0)


class PlaceView(APIView):
    class InputSerializer(serializers.Serializer[object]):
        customer_id = serializers.CharField(max_length=200)
        items = ItemSerializer(many=True, allow_empty=False)

    def post(self, request: Request) -> HttpResponse:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return recorded_command(
            request,
            principal=f"customer:{data['customer_id']}",
            effect=lambda key: (
                OrderSerializer(
                    services.order_place(
                        customer_id=data["customer_id"],
                        items=[(item["sku"], item["quantity"]) for item in data["items"]],
                    )
                ).data,
                202,
            ),
        )


class ConfirmView(APIView):
    class InputSerializer(serializers.Serializer[object]):
        lines = PricedLineSerializer(many=True, allow_empty=False)
        total_cents = serializers.IntegerField(min_value=0)
        currency = serializers.CharField(max_length=3)

    def post(self, request: Request, order_id: UUID) -> HttpResponse:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return recorded_command(
            request,
            principal=SAGA,
            effect=lambda key: (
                OrderSerializer(services.order_confirm(order_id=order_id, **serializer.validated_data)).data,
                200,
            ),
        )


class CancelView(APIView):
    class InputSerializer(serializers.Serializer[object]):
        reason = serializers.ChoiceField(choices=Order.CancellationReason.choices)
        lines = PricedLineSerializer(many=True, required=False)
        total_cents = serializers.IntegerField(min_value=0, required=False)
        currency = serializers.CharField(max_length=3, required=False, default=None)

    def post(self, request: Request, order_id: UUID) -> HttpResponse:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return recorded_command(
            request,
            principal=SAGA,
            effect=lambda key: (
                OrderSerializer(services.order_cancel(order_id=order_id, **serializer.validated_data)).data,
                200,
            ),
        )

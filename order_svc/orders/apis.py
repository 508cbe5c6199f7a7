"""The order service's REST API: the public v1 endpoints and the saga's internal reports.

Views validate, call one service or selector, and serialize. No business logic here.
"""

from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chassis.fields import CurrencyField, StrictIntegerField, customer_id_field, sku_field, unique_skus
from chassis.logging import bind
from chassis.pagination import paginated_response
from orders import selectors, services
from orders.models import Order

MAX_LINES = 50
MAX_QUANTITY = 1_000_000
MAX_CENTS = 10**12


class OrderOutputSerializer(serializers.ModelSerializer):
    class ItemSerializer(serializers.Serializer):
        sku = serializers.CharField()
        quantity = serializers.IntegerField()
        unit_price_cents = serializers.IntegerField(allow_null=True)

    items = ItemSerializer(many=True)
    workflow_id = serializers.CharField()

    class Meta:
        model = Order
        fields = [
            "id", "customer_id", "status", "cancellation_reason", "items", "total_cents", "currency",
            "workflow_id", "created_at", "updated_at",
        ]


class ItemInputSerializer(serializers.Serializer):
    sku = sku_field()
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)


class OrderCollectionApi(APIView):
    """POST places an order and starts its saga; GET lists orders, newest first."""

    class InputSerializer(serializers.Serializer):
        customer_id = customer_id_field()
        items = ItemInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)

        def validate_items(self, items):
            return unique_skus(items)

    class FilterSerializer(serializers.Serializer):
        customer_id = customer_id_field(required=False)
        status = serializers.ChoiceField(choices=Order.Status.choices, required=False)

    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = services.order_place(
            customer_id=data["customer_id"], items=[(item["sku"], item["quantity"]) for item in data["items"]]
        )
        return Response(OrderOutputSerializer(order).data, status=status.HTTP_202_ACCEPTED)

    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return paginated_response(
            queryset=selectors.order_list(**filters.validated_data),
            serializer_class=OrderOutputSerializer,
            request=request,
            view=self,
        )


class OrderDetailApi(APIView):
    def get(self, request: Request, order_id) -> Response:
        return Response(OrderOutputSerializer(selectors.order_get(order_id=order_id)).data)


class PricedLineSerializer(serializers.Serializer):
    sku = sku_field()
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS)


class OrderConfirmApi(APIView):
    """Internal: the saga reports that the order completed."""

    class InputSerializer(serializers.Serializer):
        lines = PricedLineSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
        total_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS)
        currency = CurrencyField()

        def validate_lines(self, lines):
            return unique_skus(lines)

    def post(self, request: Request, order_id) -> Response:
        bind(order_id=str(order_id))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_confirm(order_id=order_id, **serializer.validated_data)
        return Response(OrderOutputSerializer(order).data)


class OrderCancelApi(APIView):
    """Internal: the saga reports that the order was cancelled and why."""

    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=Order.CancellationReason.choices)
        lines = PricedLineSerializer(many=True, required=False, max_length=MAX_LINES)
        total_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS, required=False)
        currency = CurrencyField(required=False, default=None)

        def validate_lines(self, lines):
            return unique_skus(lines)

        def validate(self, data):
            if bool(data.get("lines")) != ("total_cents" in data):
                raise serializers.ValidationError("lines and total_cents go together.")
            return data

    def post(self, request: Request, order_id) -> Response:
        bind(order_id=str(order_id))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_cancel(order_id=order_id, **serializer.validated_data)
        return Response(OrderOutputSerializer(order).data)

"""The inventory's REST API: one class per operation, input and output serializers beside it.

Operators keep the catalog and read everything (`/api/v1/`); the saga alone reserves, releases and
commits (`/internal/v1/`); customers have nothing here. Views validate, call one service or
selector, and serialize. No business logic here.
"""

from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from chassis.api import ServiceApi
from chassis.fields import CurrencyField, StrictSerializer, StrictCharField, StrictIntegerField, sku_field, unique_skus
from chassis.idempotency.decorators import idempotent, request_idempotency_key
from chassis.pagination import paginated_response
from chassis.permissions import IsOperator, IsSaga
from inventory import selectors, services
from inventory.models import Product, Reservation, ReservationEvent
from observability.logs import bind

MAX_LINES = 50
MAX_QUANTITY = 1_000_000
MAX_CENTS = 1_000_000_000


class ProductOutputSerializer(serializers.ModelSerializer):
    available = serializers.IntegerField()

    class Meta:
        model = Product
        fields = ["sku", "name", "price_cents", "currency", "on_hand", "reserved", "available", "received"]


class ProductCollectionApi(ServiceApi):
    """POST creates a product; GET lists the catalog by SKU, paginated. Operators only."""

    permission_classes = [IsOperator]

    class InputSerializer(StrictSerializer):
        sku = sku_field()
        name = StrictCharField(max_length=200)
        price_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS)
        on_hand = StrictIntegerField(min_value=0, max_value=MAX_QUANTITY * 1000)
        currency = CurrencyField()

    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)

    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=selectors.product_list(), serializer_class=ProductOutputSerializer, request=request, view=self
        )


class ProductDetailApi(ServiceApi):
    permission_classes = [IsOperator]

    def get(self, request: Request, sku: str) -> Response:
        return Response(ProductOutputSerializer(selectors.product_get(sku=sku)).data)


class ProductRestockApi(ServiceApi):
    """Operators: receive more stock of a product."""

    permission_classes = [IsOperator]

    class InputSerializer(StrictSerializer):
        quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY * 1000)

    @idempotent
    def post(self, request: Request, sku: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_restock(sku=sku, **serializer.validated_data)
        return Response(ProductOutputSerializer(product).data)


class ReservationOutputSerializer(serializers.ModelSerializer):
    class LineSerializer(serializers.Serializer):
        sku = serializers.CharField(source="product_id")
        quantity = serializers.IntegerField()
        unit_price_cents = serializers.IntegerField()

    lines = LineSerializer(many=True)

    class Meta:
        model = Reservation
        fields = ["order_id", "status", "lines", "total_cents", "currency"]


class ReservationListApi(ServiceApi):
    """Operators: reservations, newest first, paginated."""

    permission_classes = [IsOperator]

    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=selectors.reservation_list(),
            serializer_class=ReservationOutputSerializer,
            request=request,
            view=self,
        )


class ReservationCreateApi(ServiceApi):
    """The saga: reserve an order's lines, all or none."""

    permission_classes = [IsSaga]

    class InputSerializer(StrictSerializer):
        class ItemSerializer(StrictSerializer):
            sku = sku_field()
            quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)

        order_id = serializers.UUIDField()
        items = ItemSerializer(many=True, allow_empty=False, max_length=MAX_LINES)

        def validate_items(self, items):
            return unique_skus(items)

    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        bind(order_id=str(data["order_id"]))
        reservation, created = services.reservation_create(
            order_id=data["order_id"],
            items=[(item["sku"], item["quantity"]) for item in data["items"]],
            idempotency_key=request_idempotency_key(request),
        )
        return Response(
            ReservationOutputSerializer(reservation).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ReservationDetailApi(ServiceApi):
    permission_classes = [IsOperator]

    def get(self, request: Request, order_id) -> Response:
        return Response(ReservationOutputSerializer(selectors.reservation_get(order_id=order_id)).data)


class ReservationReleaseApi(ServiceApi):
    """The saga's compensation of a reservation."""

    permission_classes = [IsSaga]

    @idempotent
    def post(self, request: Request, order_id) -> Response:
        bind(order_id=str(order_id))
        reservation = services.reservation_release(order_id=order_id, idempotency_key=request_idempotency_key(request))
        return Response(ReservationOutputSerializer(reservation).data)


class ReservationCommitApi(ServiceApi):
    permission_classes = [IsSaga]

    @idempotent
    def post(self, request: Request, order_id) -> Response:
        bind(order_id=str(order_id))
        reservation = services.reservation_commit(order_id=order_id, idempotency_key=request_idempotency_key(request))
        return Response(ReservationOutputSerializer(reservation).data)


class ReservationEventListApi(ServiceApi):
    """Operators: the append-only ledger of reservation transitions, oldest first, paginated;
    filter `?order_id=`."""

    permission_classes = [IsOperator]

    class FilterSerializer(serializers.Serializer):
        order_id = serializers.UUIDField(required=False)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = ReservationEvent
            fields = ["id", "order_id", "kind", "idempotency_key", "created_at"]

    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return paginated_response(
            queryset=selectors.reservation_event_list(**filters.validated_data),
            serializer_class=self.OutputSerializer,
            request=request,
            view=self,
        )

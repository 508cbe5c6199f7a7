"""The inventory's REST API: one class per operation, input and output serializers beside it.

Operators keep the catalog and read everything (`/api/v1/`); the saga alone reserves, releases and
commits (`/internal/v1/`); anyone, without a token, reads the public catalog (names, prices and a
band of availability, never a count). Views validate, call one service or selector, and serialize.
No business logic here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import UUID

from django.utils.http import parse_etags
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from chassis.api import ServiceApi
from chassis.fields import (
    CurrencyField,
    QuerySerializer,
    SkuRepeated,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
    sku_field,
    unique_skus,
)
from chassis.idempotency.decorators import idempotent, request_idempotency_key
from chassis.pagination import PageQuerySerializer, paginated_response
from chassis.permissions import AuditorReads, IsOperator, IsSaga
from chassis.schema import PAGE_PARAMETERS, answers, linked, page_of
from inventory import selectors, services
from inventory.errors import (
    OutOfStock,
    ProductExists,
    ProductNotFound,
    ReservationCommitted,
    ReservationConflict,
    ReservationNotFound,
    ReservationReleased,
    StockLimit,
    UnknownSku,
)
from inventory.models import Product, Reservation, ReservationEvent
from observability.logs import bind

MAX_LINES = 50
MAX_QUANTITY = 1_000_000
MAX_CENTS = 1_000_000_000
CATALOG_MAX_AGE_SECONDS = 5
"""How long a browser or a shared cache may reuse a page of the public catalog without asking again,
so an availability band it shows may be this many seconds old."""


class ProductOutputSerializer(serializers.ModelSerializer[Product]):
    available = serializers.IntegerField()

    class Meta:
        model = Product
        fields = ["sku", "name", "price_cents", "currency", "on_hand", "reserved", "available", "received"]


class ProductCollectionApi(ServiceApi):
    """POST creates a product; GET lists the catalog by SKU, paginated. Operators only."""

    permission_classes = [IsOperator | AuditorReads]

    class InputSerializer(StrictSerializer):
        sku = sku_field()
        name = StrictCharField(max_length=200)
        price_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS)
        on_hand = StrictIntegerField(min_value=0, max_value=MAX_QUANTITY * 1000)
        currency = CurrencyField()

    @extend_schema(
        operation_id="createProduct",
        summary="Add a product with its first stock",
        tags=["products"],
        responses=answers(
            {
                201: linked(
                    ProductOutputSerializer,
                    getProduct={"parameters": {"sku": "$response.body#/sku"}},
                    restockProduct={"parameters": {"sku": "$response.body#/sku"}},
                )
            },
            ProductExists,
        ),
        examples=[
            OpenApiExample(
                "a product",
                request_only=True,
                value={
                    "sku": "BEANS-1KG",
                    "name": "Coffee beans, 1 kg",
                    "price_cents": 1890,
                    "on_hand": 40,
                    "currency": "USD",
                },
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="listProducts",
        summary="The catalog, by SKU",
        tags=["products"],
        parameters=PAGE_PARAMETERS,
        responses=answers({200: page_of(ProductOutputSerializer)}),
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=selectors.product_list(),
            serializer_class=ProductOutputSerializer,
            request=request,
            view=self,
        )


class CatalogEntryOutputSerializer(serializers.ModelSerializer[Product]):
    """A product as the public sees it: its availability as a band, never its counts."""

    availability = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["sku", "name", "price_cents", "currency", "availability"]

    @extend_schema_field(serializers.ChoiceField(choices=[band.value for band in selectors.Availability]))
    def get_availability(self, product: Product) -> str:
        return selectors.product_availability(product=product).value


def _etag_of(data: object) -> str:
    """A weak validator of an answer's content: equal data, equal tag, however it is rendered."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f'W/"{digest[:32]}"'


def _still_fresh(request: Request, etag: str) -> bool:
    """Whether the caller's If-None-Match names `etag` (compared weakly, as RFC 9110 asks for GET) or
    is `*`. A malformed header names nothing."""
    tags = parse_etags(request.headers.get("If-None-Match", ""))
    return "*" in tags or etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in tags}


class CatalogApi(ServiceApi):
    """The public catalog, by SKU, paginated: what a shop window shows. Anyone may read it.

    No token is needed, and none is read: the view has no authentication, so a stale or malformed
    Authorization header (a signed-out storefront's, say) is ignored instead of answered 401, and
    every caller is throttled as anonymous traffic is, by client address. A page is cacheable by
    browsers and shared caches for CATALOG_MAX_AGE_SECONDS, with an ETag for conditional GETs (304).
    """

    authentication_classes = ()
    permission_classes = [AllowAny]

    class FilterSerializer(StrictSerializer, PageQuerySerializer):
        """The query: the page and its size only. Anything else is a 400, so that made-up parameters
        cannot bypass the caches with URLs of their own."""

    @extend_schema(
        operation_id="listCatalog",
        summary="The public catalog, by SKU (no token needed)",
        tags=["catalog"],
        auth=[],
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter(
                "If-None-Match",
                str,
                OpenApiParameter.HEADER,
                description="The ETag of a page read before: 304 while it has not changed.",
            ),
            OpenApiParameter(
                "ETag",
                str,
                OpenApiParameter.HEADER,
                response=[200, 304],
                description="A weak validator of the page's content, for If-None-Match.",
            ),
            OpenApiParameter(
                "Cache-Control",
                str,
                OpenApiParameter.HEADER,
                response=[200, 304],
                description=f"`public, max-age={CATALOG_MAX_AGE_SECONDS}`.",
            ),
        ],
        responses=answers(
            {
                200: page_of(CatalogEntryOutputSerializer),
                304: OpenApiResponse(description="Not modified: the page named by If-None-Match is current."),
            }
        ),
        examples=[
            OpenApiExample(
                "a page",
                response_only=True,
                status_codes=["200"],
                value={
                    "count": 2,
                    "next": None,
                    "previous": None,
                    "results": [
                        {
                            "sku": "BEANS-1KG",
                            "name": "Coffee beans, 1 kg",
                            "price_cents": 2490,
                            "currency": "USD",
                            "availability": "in_stock",
                        },
                        {
                            "sku": "KETTLE-GOOSENECK",
                            "name": "Gooseneck kettle",
                            "price_cents": 5900,
                            "currency": "USD",
                            "availability": "out_of_stock",
                        },
                    ],
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        self.FilterSerializer(data=request.query_params).is_valid(raise_exception=True)
        page = paginated_response(
            queryset=selectors.product_list(),
            serializer_class=CatalogEntryOutputSerializer,
            request=request,
            view=self,
        )
        etag = _etag_of(page.data)
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={CATALOG_MAX_AGE_SECONDS}"}
        if _still_fresh(request, etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        for name, value in headers.items():
            page[name] = value
        return page


class ProductDetailApi(ServiceApi):
    permission_classes = [IsOperator]

    @extend_schema(
        operation_id="getProduct",
        summary="Read a product and its stock",
        tags=["products"],
        responses=answers({200: ProductOutputSerializer}, ProductNotFound),
    )
    def get(self, request: Request, sku: str) -> Response:
        return Response(ProductOutputSerializer(selectors.product_get(sku=sku)).data)


class ProductRestockApi(ServiceApi):
    """Operators: receive more stock of a product."""

    permission_classes = [IsOperator]

    class InputSerializer(StrictSerializer):
        quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY * 1000)

    @extend_schema(
        operation_id="restockProduct",
        summary="Receive more stock",
        tags=["products"],
        responses=answers({200: ProductOutputSerializer}, ProductNotFound, StockLimit),
        examples=[OpenApiExample("a delivery", request_only=True, value={"quantity": 24})],
    )
    @idempotent
    def post(self, request: Request, sku: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_restock(sku=sku, **serializer.validated_data)
        return Response(ProductOutputSerializer(product).data)


class ReservationOutputSerializer(serializers.ModelSerializer[Reservation]):
    class LineSerializer(serializers.Serializer[Any]):
        sku = serializers.CharField(source="product_id")
        quantity = serializers.IntegerField()
        unit_price_cents = serializers.IntegerField()

    lines = LineSerializer(many=True)

    class Meta:
        model = Reservation
        fields = ["order_id", "status", "lines", "total_cents", "currency"]


class ReservationListApi(ServiceApi):
    """Operators: reservations, newest first, paginated."""

    permission_classes = [IsOperator | AuditorReads]

    @extend_schema(
        operation_id="listReservations",
        summary="Reservations, newest first",
        tags=["reservations"],
        parameters=PAGE_PARAMETERS,
        responses=answers({200: page_of(ReservationOutputSerializer)}),
    )
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
        items: serializers.ListSerializer[Any] = serializers.ListSerializer(
            child=ItemSerializer(), allow_empty=False, max_length=MAX_LINES
        )

        def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return unique_skus(items)

    @extend_schema(
        operation_id="reserveStock",
        summary="The saga reserves an order's lines, all or none",
        tags=["saga"],
        responses=answers(
            {
                201: linked(
                    ReservationOutputSerializer,
                    commitStock={"parameters": {"order_id": "$response.body#/order_id"}},
                    releaseStock={"parameters": {"order_id": "$response.body#/order_id"}},
                ),
                200: ReservationOutputSerializer,
            },
            OutOfStock,
            ReservationReleased,
            ReservationConflict,
            UnknownSku,
            SkuRepeated,
        ),
        examples=[
            OpenApiExample(
                "two lines",
                request_only=True,
                value={
                    "order_id": "5b3f1c2e-8a4d-4e6f-9b1a-2c3d4e5f6a7b",
                    "items": [{"sku": "BEANS-1KG", "quantity": 2}, {"sku": "MUG-CERAMIC", "quantity": 1}],
                },
            )
        ],
    )
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

    @extend_schema(
        operation_id="getReservation",
        summary="Read an order's reservation",
        tags=["reservations"],
        responses=answers({200: ReservationOutputSerializer}, ReservationNotFound),
    )
    def get(self, request: Request, order_id: UUID) -> Response:
        return Response(ReservationOutputSerializer(selectors.reservation_get(order_id=order_id)).data)


class ReservationReleaseApi(ServiceApi):
    """The saga's compensation of a reservation."""

    permission_classes = [IsSaga]

    @extend_schema(
        operation_id="releaseStock",
        summary="The saga releases an order's reservation (compensation)",
        tags=["saga"],
        request=None,
        responses=answers({200: ReservationOutputSerializer}, ReservationCommitted),
    )
    @idempotent
    def post(self, request: Request, order_id: UUID) -> Response:
        bind(order_id=str(order_id))
        reservation = services.reservation_release(
            order_id=order_id, idempotency_key=request_idempotency_key(request)
        )
        return Response(ReservationOutputSerializer(reservation).data)


class ReservationCommitApi(ServiceApi):
    permission_classes = [IsSaga]

    @extend_schema(
        operation_id="commitStock",
        summary="The saga commits an order's reservation: the stock leaves",
        tags=["saga"],
        request=None,
        responses=answers({200: ReservationOutputSerializer}, ReservationNotFound, ReservationReleased),
    )
    @idempotent
    def post(self, request: Request, order_id: UUID) -> Response:
        bind(order_id=str(order_id))
        reservation = services.reservation_commit(
            order_id=order_id, idempotency_key=request_idempotency_key(request)
        )
        return Response(ReservationOutputSerializer(reservation).data)


class ReservationEventListApi(ServiceApi):
    """Operators: the append-only ledger of reservation transitions, oldest first, paginated;
    filter `?order_id=`."""

    permission_classes = [IsOperator | AuditorReads]

    class FilterSerializer(QuerySerializer):
        order_id = serializers.UUIDField(required=False)

    class OutputSerializer(serializers.ModelSerializer[ReservationEvent]):
        class Meta:
            model = ReservationEvent
            fields = ["id", "order_id", "kind", "idempotency_key", "created_at"]

    @extend_schema(
        operation_id="listReservationEvents",
        summary="The ledger of reservation transitions, oldest first",
        tags=["reservations"],
        parameters=PAGE_PARAMETERS,
        responses=answers({200: page_of(OutputSerializer)}),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return paginated_response(
            queryset=selectors.reservation_event_list(**filters.validated_data),
            serializer_class=self.OutputSerializer,
            request=request,
            view=self,
        )

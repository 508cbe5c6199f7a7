"""The order service's REST API: the public v1 endpoints and the saga's internal reports.

A customer places orders for itself, reads its own, asks to cancel them and watches their saga;
an operator places orders for a customer it names, reads, cancels and watches every order, and reads
the saga's operations (its circuit breakers, the last audit); the saga alone reads an order by id and
reports it confirmed or cancelled (`/internal/v1/`). Views validate, call one service or selector,
and serialize. No business logic here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from chassis.api import ServiceApi
from chassis.auth import Principal
from chassis.fields import (
    CurrencyField,
    QuerySerializer,
    SkuRepeated,
    StrictIntegerField,
    StrictSerializer,
    customer_id_field,
    sku_field,
    unique_skus,
)
from chassis.idempotency.decorators import idempotent
from chassis.pagination import paginated_response
from chassis.permissions import AuditorReads, IsCustomer, IsOperator, IsSaga
from chassis.schema import PAGE_PARAMETERS, answers, linked, page_of
from chassis.throttling import OrderPlacementThrottle, RequestRateThrottle
from observability.logs import bind
from orders import selectors, services
from orders.errors import (
    CustomerMismatch,
    CustomerRequired,
    LinesMismatch,
    OperatorOrdersOff,
    OrderFinal,
    OrderNotCancellable,
    OrderNotFound,
    SagaUnavailable,
)
from orders.models import Order
from orders.worker_metrics import BreakerState
from saga_contract import CancellationReason, StepState

if TYPE_CHECKING:
    # The stubs' name for what DRF asks of a permission instance (composed ones included).
    from rest_framework.permissions import _SupportsHasPermission

MAX_LINES = 50
MAX_QUANTITY = 1_000_000
MAX_CENTS = 10**12
ORDER_OF_THE_ANSWER = {"order_id": "$response.body#/id"}
"""The link from an answer with an order to the operations on that order."""


def _caller(request: Request) -> Principal:
    """Who calls: every view here admits only callers that JwtAuthentication made a Principal of."""
    return cast(Principal, request.user)


class OrderOutputSerializer(serializers.ModelSerializer[Order]):
    class ItemSerializer(StrictSerializer):
        sku = serializers.CharField()
        quantity = serializers.IntegerField()
        unit_price_cents = serializers.IntegerField(allow_null=True)

    items = ItemSerializer(many=True)
    workflow_id = serializers.CharField()

    class Meta:
        model = Order
        fields = [
            "id",
            "customer_id",
            "status",
            "cancellation_reason",
            "items",
            "total_cents",
            "currency",
            "workflow_id",
            "created_at",
            "updated_at",
        ]


class ItemInputSerializer(StrictSerializer):
    sku = sku_field()
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)


class OrderCollectionApi(ServiceApi):
    """POST places an order: a customer's for itself, or an operator's for the customer its body
    names in `customer_id` (the storefront's demo load, an order taken by phone). 202 once the order
    and its saga's outbox record are stored (the relay starts the saga). GET lists orders, newest
    first: a customer's own, or every order for an operator.

    An operator's Idempotency-Keys and placement allowance are its own, like any caller's: placing
    for alice neither replays alice's keys nor uses up her allowance (and operators are throttled
    only with THROTTLE_OPERATORS)."""

    throttle_classes = [RequestRateThrottle, OrderPlacementThrottle]

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.request.method == "POST":
            return [(IsCustomer | IsOperator)()]
        return [(IsCustomer | IsOperator | AuditorReads)()]

    class InputSerializer(StrictSerializer):
        customer_id = customer_id_field(required=False)
        items: serializers.ListSerializer[Any] = serializers.ListSerializer(
            child=ItemInputSerializer(), allow_empty=False, max_length=MAX_LINES
        )

        def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return unique_skus(items)

    class FilterSerializer(QuerySerializer):
        customer_id = customer_id_field(required=False)
        status = serializers.ChoiceField(choices=Order.Status.choices, required=False)

    @extend_schema(
        operation_id="placeOrder",
        summary="Place an order",
        tags=["orders"],
        description="A customer orders for itself (`customer_id` may be left out, or must be its own); "
        "an operator orders for the customer it names in `customer_id`, which it must give, outside "
        "production only (`operator_orders_off`).",
        responses=answers(
            {
                202: linked(
                    OrderOutputSerializer,
                    getOrder={"parameters": ORDER_OF_THE_ANSWER},
                    getOrderSaga={"parameters": ORDER_OF_THE_ANSWER},
                    requestOrderCancel={"parameters": ORDER_OF_THE_ANSWER},
                )
            },
            CustomerMismatch,
            CustomerRequired,
            OperatorOrdersOff,
            SkuRepeated,
        ),
        examples=[
            OpenApiExample(
                "two lines",
                request_only=True,
                value={
                    "items": [{"sku": "BEANS-1KG", "quantity": 2}, {"sku": "MUG-CERAMIC", "quantity": 1}],
                },
            ),
            OpenApiExample(
                "an operator's, for alice",
                request_only=True,
                value={"customer_id": "alice", "items": [{"sku": "BEANS-1KG", "quantity": 1}]},
            ),
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer_id = _caller(request).customer_id
        if customer_id is None:  # an operator (see get_permissions) orders for the customer it names
            if not settings.ORDER_OPERATOR_ORDERS:
                raise OperatorOrdersOff()
            if "customer_id" not in data:
                raise CustomerRequired()
            customer_id = data["customer_id"]
        elif data.get("customer_id", customer_id) != customer_id:
            raise CustomerMismatch()
        order = services.order_place(
            customer_id=customer_id, items=[(item["sku"], item["quantity"]) for item in data["items"]]
        )
        return Response(OrderOutputSerializer(order).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="listOrders",
        summary="List orders, newest first",
        tags=["orders"],
        parameters=PAGE_PARAMETERS,
        responses=answers({200: page_of(OrderOutputSerializer)}),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return paginated_response(
            queryset=selectors.order_list(**filters.validated_data, owner=_caller(request).customer_id),
            serializer_class=OrderOutputSerializer,
            request=request,
            view=self,
        )


class OrderDetailApi(ServiceApi):
    """One order: a customer's own (another's is not found), or any for an operator or the auditor."""

    permission_classes = [IsCustomer | IsOperator | AuditorReads]

    @extend_schema(
        operation_id="getOrder",
        summary="Read an order",
        tags=["orders"],
        responses=answers(
            {
                200: linked(
                    OrderOutputSerializer,
                    getOrderSaga={"parameters": ORDER_OF_THE_ANSWER},
                    requestOrderCancel={"parameters": ORDER_OF_THE_ANSWER},
                )
            },
            OrderNotFound,
        ),
    )
    def get(self, request: Request, order_id: UUID) -> Response:
        order = selectors.order_get(order_id=order_id, owner=_caller(request).customer_id)
        return Response(OrderOutputSerializer(order).data)


class OrderCancelRequestApi(ServiceApi):
    """A customer (its own order) or an operator asks the order's saga to cancel: 202 with the order
    once the saga has accepted (it compensates what it did, then reports the order CANCELLED); 409
    `order_not_cancellable` with `details.reason` once payment is captured or the order is final."""

    permission_classes = [IsCustomer | IsOperator]

    class InputSerializer(StrictSerializer):
        pass

    @extend_schema(
        operation_id="requestOrderCancel",
        summary="Ask an order's saga to cancel",
        tags=["orders"],
        responses=answers({202: OrderOutputSerializer}, OrderNotFound, OrderNotCancellable, SagaUnavailable),
        examples=[OpenApiExample("no body", request_only=True, value={})],
    )
    @idempotent(atomic=False)  # the effect is the saga's: no transaction is held while Temporal answers
    def post(self, request: Request, order_id: UUID) -> Response:
        bind(order_id=str(order_id))
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        order = services.order_request_cancel(order_id=order_id, owner=_caller(request).customer_id)
        return Response(OrderOutputSerializer(order).data, status=status.HTTP_202_ACCEPTED)


class OrderSagaApi(ServiceApi):
    """The order's saga as its workflow sees it (a query; answered from history once closed), with
    each step's attempts: a customer's own order, or any for an operator."""

    permission_classes = [IsCustomer | IsOperator]

    class OutputSerializer(serializers.Serializer[Any]):
        class StepSerializer(serializers.Serializer[Any]):
            name = serializers.CharField()
            state = serializers.ChoiceField(choices=[(state.value, state.name) for state in StepState])
            attempts = serializers.IntegerField()
            last_error = serializers.CharField(allow_null=True)
            started_at = serializers.CharField(allow_null=True)
            finished_at = serializers.CharField(allow_null=True)
            compensated_at = serializers.CharField(allow_null=True)

        order_id = serializers.UUIDField(source="order.id")
        workflow_id = serializers.CharField(source="order.workflow_id")
        status = serializers.CharField(source="progress.status")
        steps = StepSerializer(source="progress.steps", many=True)

    @extend_schema(
        operation_id="getOrderSaga",
        summary="Follow an order's saga, step by step",
        tags=["orders"],
        responses=answers({200: OutputSerializer}, OrderNotFound, SagaUnavailable),
    )
    def get(self, request: Request, order_id: UUID) -> Response:
        customer_id = _caller(request).customer_id
        order, progress = selectors.order_saga_progress(order_id=order_id, owner=customer_id)
        data = self.OutputSerializer({"order": order, "progress": progress}).data
        if customer_id is not None:
            # A step's last error is the worker's own words (service names, transport errors): for
            # operators. A customer sees the states and times, and the order's reason once final.
            for step in data["steps"]:
                step["last_error"] = None
        return Response(data)


class BreakerListApi(ServiceApi):
    """Operators: each of the saga's circuit breakers (one per service the saga calls) as the
    orchestrator workers report them on their metrics endpoints: open when any worker has it open
    (or half-open), closed when every worker that reports it has it closed, unknown when no worker
    answered about it within a second."""

    permission_classes = [IsOperator]

    class OutputSerializer(serializers.Serializer[Any]):
        class BreakerSerializer(serializers.Serializer[Any]):
            service = serializers.CharField()
            state = serializers.ChoiceField(choices=[(state.value, state.name) for state in BreakerState])

        breakers = BreakerSerializer(many=True)
        read_at = serializers.DateTimeField(help_text="When the workers were asked (UTC).")

    @extend_schema(
        operation_id="listBreakers",
        summary="The saga's circuit breakers, as the workers report them",
        tags=["operations"],
        responses=answers({200: OutputSerializer}),
        examples=[
            OpenApiExample(
                "payments failing fast",
                response_only=True,
                value={
                    "breakers": [
                        {"service": "inventory_svc", "state": "closed"},
                        {"service": "payment_svc", "state": "open"},
                        {"service": "order_svc", "state": "closed"},
                    ],
                    "read_at": "2026-01-01T12:00:00.000000Z",
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        states = selectors.breaker_list()
        read_at = timezone.now()
        breakers = [{"service": service, "state": state} for service, state in states.items()]
        return Response(self.OutputSerializer({"breakers": breakers, "read_at": read_at}).data)


class AuditLatestApi(ServiceApi):
    """Operators: the newest closed run of the scheduled audit (a Temporal Schedule of the worker),
    read from Temporal: what it found, or, for a run that did not complete, its status and why.
    `{"audit": null}` while no run has closed."""

    permission_classes = [IsOperator]

    class OutputSerializer(serializers.Serializer[Any]):
        class RunSerializer(serializers.Serializer[Any]):
            workflow_id = serializers.CharField()
            status = serializers.CharField(help_text="COMPLETED, or FAILED, TIMED_OUT, TERMINATED, CANCELED.")
            audited_at = serializers.CharField(
                allow_null=True,
                help_text="When the audit read the system; for a run that did not complete, when it ended.",
            )
            violations = serializers.IntegerField(
                allow_null=True, help_text="null when the run did not complete."
            )
            by_invariant = serializers.DictField(
                child=serializers.IntegerField(), allow_null=True, help_text="Violations by invariant."
            )
            summary = serializers.ListField(
                child=serializers.CharField(), help_text="The report's lines, one per invariant."
            )
            message = serializers.CharField(allow_null=True, help_text="Why a run did not complete.")

        audit = RunSerializer(allow_null=True)

    @extend_schema(
        operation_id="getLatestAudit",
        summary="The last scheduled audit's outcome",
        tags=["operations"],
        responses=answers({200: OutputSerializer}, SagaUnavailable),
        examples=[
            OpenApiExample(
                "a clean run",
                response_only=True,
                value={
                    "audit": {
                        "workflow_id": "audit-2026-01-01T12:00:00Z",
                        "status": "COMPLETED",
                        "audited_at": "2026-01-01T12:00:03.512000+00:00",
                        "violations": 0,
                        "by_invariant": {"money": 0, "stock": 0, "liveness": 0},
                        "summary": ["money         checked 6      OK", "stock         checked 7      OK"],
                        "message": None,
                    }
                },
            ),
            OpenApiExample("no run yet", response_only=True, value={"audit": None}),
        ],
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer({"audit": selectors.audit_latest()}).data)


class PricedLineSerializer(StrictSerializer):
    sku = sku_field()
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS)


class OrderConfirmApi(ServiceApi):
    """Internal: the saga reports that the order completed."""

    permission_classes = [IsSaga]

    class InputSerializer(StrictSerializer):
        lines: serializers.ListSerializer[Any] = serializers.ListSerializer(
            child=PricedLineSerializer(), allow_empty=False, max_length=MAX_LINES
        )
        total_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS)
        currency = CurrencyField()

        def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return unique_skus(lines)

    @extend_schema(
        operation_id="confirmOrder",
        summary="The saga reports the order confirmed",
        tags=["saga"],
        responses=answers(
            {200: OrderOutputSerializer}, OrderNotFound, OrderFinal, LinesMismatch, SkuRepeated
        ),
        examples=[
            OpenApiExample(
                "confirmed",
                request_only=True,
                value={
                    "lines": [{"sku": "BEANS-1KG", "quantity": 2, "unit_price_cents": 1890}],
                    "total_cents": 3780,
                    "currency": "USD",
                },
            )
        ],
    )
    @idempotent
    def post(self, request: Request, order_id: UUID) -> Response:
        bind(order_id=str(order_id))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_confirm(order_id=order_id, **serializer.validated_data)
        return Response(OrderOutputSerializer(order).data)


class OrderCancelApi(ServiceApi):
    """Internal: the saga reports that the order was cancelled and why."""

    permission_classes = [IsSaga]

    class InputSerializer(StrictSerializer):
        reason = serializers.ChoiceField(choices=Order.CancellationReason.choices)
        lines: serializers.ListSerializer[Any] = serializers.ListSerializer(
            child=PricedLineSerializer(), required=False, max_length=MAX_LINES
        )
        total_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS, required=False)
        currency = CurrencyField(required=False, default=None)

        def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return unique_skus(lines)

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            if bool(data.get("lines")) != ("total_cents" in data):
                raise serializers.ValidationError("lines and total_cents go together.")
            return data

        # The rule of `validate`, in the schema: priced lines with their total, or neither.
        json_schema_rules = {
            "anyOf": [
                {"required": ["lines", "total_cents"], "properties": {"lines": {"minItems": 1}}},
                {"not": {"required": ["total_cents"]}, "properties": {"lines": {"maxItems": 0}}},
            ]
        }

    @extend_schema(
        operation_id="cancelOrder",
        summary="The saga reports the order cancelled, and why",
        tags=["saga"],
        responses=answers(
            {200: OrderOutputSerializer}, OrderNotFound, OrderFinal, LinesMismatch, SkuRepeated
        ),
        examples=[
            OpenApiExample(
                "before stock was priced",
                request_only=True,
                value={"reason": CancellationReason.OUT_OF_STOCK},
            ),
            OpenApiExample(
                "after",
                request_only=True,
                value={
                    "reason": CancellationReason.PAYMENT_DECLINED,
                    "lines": [{"sku": "MUG-CERAMIC", "quantity": 1, "unit_price_cents": 1200}],
                    "total_cents": 1200,
                    "currency": "USD",
                },
            ),
        ],
    )
    @idempotent
    def post(self, request: Request, order_id: UUID) -> Response:
        bind(order_id=str(order_id))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_cancel(order_id=order_id, **serializer.validated_data)
        return Response(OrderOutputSerializer(order).data)

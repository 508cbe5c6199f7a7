"""The payment service's REST API: one class per operation, serializers beside it.

Operators open accounts, pay in deposits and read everything (`/api/v1/`); a customer reads its own
account; the saga alone authorizes, voids and captures (`/internal/v1/`). Views validate, call one
service or selector, and serialize. No business logic here.
"""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from chassis.api import ServiceApi
from chassis.auth import Principal
from chassis.fields import (
    CurrencyField,
    QuerySerializer,
    StrictIntegerField,
    StrictSerializer,
    customer_id_field,
)
from chassis.idempotency.decorators import idempotent, request_idempotency_key
from chassis.pagination import paginated_response
from chassis.permissions import AuditorReads, IsCustomer, IsOperator, IsSaga
from chassis.schema import PAGE_PARAMETERS, answers, linked, page_of
from observability.logs import bind
from payments import selectors, services
from payments.errors import (
    AccountExists,
    AccountNotFound,
    DepositLimit,
    PaymentCaptured,
    PaymentConflict,
    PaymentDeclined,
    PaymentNotFound,
    PaymentVoided,
)
from payments.models import Account, MerchantAccount, Payment, PaymentEvent

MAX_CENTS = 10**12


def _caller(request: Request) -> Principal:
    """Who calls: every view here admits only callers that JwtAuthentication made a Principal of."""
    return cast(Principal, request.user)


class AccountOutputSerializer(serializers.ModelSerializer[Account]):
    class Meta:
        model = Account
        fields = ["customer_id", "balance_cents", "held_cents", "deposited_cents", "currency"]


class PaymentOutputSerializer(serializers.ModelSerializer[Payment]):
    class Meta:
        model = Payment
        fields = ["id", "order_id", "customer_id", "amount_cents", "currency", "status"]


class AccountCollectionApi(ServiceApi):
    """POST opens an account with a deposit; GET lists accounts by customer id, paginated. Operators only."""

    permission_classes = [IsOperator | AuditorReads]

    class InputSerializer(StrictSerializer):
        customer_id = customer_id_field()
        balance_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS)
        currency = CurrencyField()

    @extend_schema(
        operation_id="openAccount",
        summary="Open a customer's account with a first deposit",
        tags=["accounts"],
        responses=answers(
            {
                201: linked(
                    AccountOutputSerializer,
                    getAccount={"parameters": {"customer_id": "$response.body#/customer_id"}},
                    depositToAccount={"parameters": {"customer_id": "$response.body#/customer_id"}},
                )
            },
            AccountExists,
        ),
        examples=[
            OpenApiExample(
                "an account",
                request_only=True,
                value={
                    "customer_id": "alice",
                    "balance_cents": 50000,
                    "currency": "USD",
                },
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_create(**serializer.validated_data)
        return Response(AccountOutputSerializer(account).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="listAccounts",
        summary="Accounts, by customer id",
        tags=["accounts"],
        parameters=PAGE_PARAMETERS,
        responses=answers({200: page_of(AccountOutputSerializer)}),
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=selectors.account_list(),
            serializer_class=AccountOutputSerializer,
            request=request,
            view=self,
        )


class AccountDetailApi(ServiceApi):
    """An operator reads any account; a customer its own (another's is not found)."""

    permission_classes = [IsOperator | IsCustomer]

    @extend_schema(
        operation_id="getAccount",
        summary="Read an account: its balance, what is held, what was paid in",
        tags=["accounts"],
        responses=answers({200: AccountOutputSerializer}, AccountNotFound),
    )
    def get(self, request: Request, customer_id: str) -> Response:
        account = selectors.account_get(customer_id=customer_id, owner=_caller(request).customer_id)
        return Response(AccountOutputSerializer(account).data)


class AccountDepositApi(ServiceApi):
    """Operators: pay money into a customer's account."""

    permission_classes = [IsOperator]

    class InputSerializer(StrictSerializer):
        amount_cents = StrictIntegerField(min_value=1, max_value=MAX_CENTS)

    @extend_schema(
        operation_id="depositToAccount",
        summary="Pay money into a customer's account",
        tags=["accounts"],
        responses=answers({200: AccountOutputSerializer}, AccountNotFound, DepositLimit),
        examples=[OpenApiExample("a deposit", request_only=True, value={"amount_cents": 10000})],
    )
    @idempotent
    def post(self, request: Request, customer_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_deposit(customer_id=customer_id, **serializer.validated_data)
        return Response(AccountOutputSerializer(account).data)


class MerchantApi(ServiceApi):
    permission_classes = [IsOperator | AuditorReads]

    class OutputSerializer(serializers.ModelSerializer[MerchantAccount]):
        class Meta:
            model = MerchantAccount
            fields = ["balance_cents", "currency"]

    @extend_schema(
        operation_id="getMerchant",
        summary="The merchant's account: what captures have paid in",
        tags=["accounts"],
        responses=answers({200: OutputSerializer}),
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.merchant_get()).data)


class OrderFilterSerializer(QuerySerializer):
    order_id = serializers.UUIDField(required=False)


class PaymentListApi(ServiceApi):
    """Operators: payments, newest first, paginated; filter `?order_id=`."""

    permission_classes = [IsOperator | AuditorReads]
    FilterSerializer = OrderFilterSerializer

    @extend_schema(
        operation_id="listPayments",
        summary="Payments, newest first",
        tags=["payments"],
        parameters=PAGE_PARAMETERS,
        responses=answers({200: page_of(PaymentOutputSerializer)}),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return paginated_response(
            queryset=selectors.payment_list(**filters.validated_data),
            serializer_class=PaymentOutputSerializer,
            request=request,
            view=self,
        )


class PaymentEventListApi(ServiceApi):
    """Operators: the append-only ledger of payment transitions, oldest first, paginated;
    filter `?order_id=`."""

    permission_classes = [IsOperator | AuditorReads]
    FilterSerializer = OrderFilterSerializer

    class OutputSerializer(serializers.ModelSerializer[PaymentEvent]):
        class Meta:
            model = PaymentEvent
            fields = ["id", "order_id", "kind", "amount_cents", "idempotency_key", "created_at"]

    @extend_schema(
        operation_id="listPaymentEvents",
        summary="The ledger of payment transitions, oldest first",
        tags=["payments"],
        parameters=PAGE_PARAMETERS,
        responses=answers({200: page_of(OutputSerializer)}),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return paginated_response(
            queryset=selectors.payment_event_list(**filters.validated_data),
            serializer_class=self.OutputSerializer,
            request=request,
            view=self,
        )


class OrderRefSerializer(StrictSerializer):
    order_id = serializers.UUIDField()


class PaymentAuthorizeApi(ServiceApi):
    """The saga: hold the order's total on the customer's account."""

    permission_classes = [IsSaga]

    class InputSerializer(OrderRefSerializer):
        customer_id = customer_id_field()
        amount_cents = StrictIntegerField(min_value=1, max_value=MAX_CENTS)
        currency = CurrencyField()

    @extend_schema(
        operation_id="authorizePayment",
        summary="The saga holds an order's total on the customer's account",
        tags=["saga"],
        responses=answers(
            {
                201: linked(
                    PaymentOutputSerializer,
                    capturePayment={"requestBody": {"order_id": "$response.body#/order_id"}},
                    voidPayment={"requestBody": {"order_id": "$response.body#/order_id"}},
                ),
                200: PaymentOutputSerializer,
            },
            AccountNotFound,
            PaymentDeclined,
            PaymentVoided,
            PaymentConflict,
        ),
        examples=[
            OpenApiExample(
                "a hold",
                request_only=True,
                value={
                    "order_id": "5b3f1c2e-8a4d-4e6f-9b1a-2c3d4e5f6a7b",
                    "customer_id": "alice",
                    "amount_cents": 4980,
                    "currency": "USD",
                },
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bind(order_id=str(serializer.validated_data["order_id"]))
        payment, created = services.payment_authorize(
            **serializer.validated_data, idempotency_key=request_idempotency_key(request)
        )
        return Response(
            PaymentOutputSerializer(payment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PaymentVoidApi(ServiceApi):
    """The saga's compensation of an authorization."""

    permission_classes = [IsSaga]
    InputSerializer = OrderRefSerializer

    @extend_schema(
        operation_id="voidPayment",
        summary="The saga releases an order's hold (compensation)",
        tags=["saga"],
        responses=answers({200: PaymentOutputSerializer}, PaymentCaptured),
        examples=[
            OpenApiExample(
                "an order", request_only=True, value={"order_id": "5b3f1c2e-8a4d-4e6f-9b1a-2c3d4e5f6a7b"}
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bind(order_id=str(serializer.validated_data["order_id"]))
        payment = services.payment_void(
            **serializer.validated_data, idempotency_key=request_idempotency_key(request)
        )
        return Response(PaymentOutputSerializer(payment).data)


class PaymentCaptureApi(ServiceApi):
    """The saga's pivot: move the held amount to the merchant."""

    permission_classes = [IsSaga]
    InputSerializer = OrderRefSerializer

    @extend_schema(
        operation_id="capturePayment",
        summary="The saga captures an order's hold for the merchant (the pivot)",
        tags=["saga"],
        responses=answers({200: PaymentOutputSerializer}, PaymentNotFound, PaymentVoided),
        examples=[
            OpenApiExample(
                "an order", request_only=True, value={"order_id": "5b3f1c2e-8a4d-4e6f-9b1a-2c3d4e5f6a7b"}
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bind(order_id=str(serializer.validated_data["order_id"]))
        payment = services.payment_capture(
            **serializer.validated_data, idempotency_key=request_idempotency_key(request)
        )
        return Response(PaymentOutputSerializer(payment).data)

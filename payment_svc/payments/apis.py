"""The payment service's REST API: one class per operation, serializers beside it.

Operators open accounts, pay in deposits and read everything (`/api/v1/`); a customer reads its own
account; the saga alone authorizes, voids and captures (`/internal/v1/`). Views validate, call one
service or selector, and serialize. No business logic here.
"""

from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from chassis.api import ServiceApi
from chassis.fields import CurrencyField, StrictSerializer, StrictIntegerField, customer_id_field
from chassis.idempotency.decorators import idempotent, request_idempotency_key
from chassis.pagination import paginated_response
from chassis.permissions import IsCustomer, IsOperator, IsSaga
from observability.logs import bind
from payments import selectors, services
from payments.models import Account, MerchantAccount, Payment, PaymentEvent

MAX_CENTS = 10**12


class AccountOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["customer_id", "balance_cents", "held_cents", "deposited_cents", "currency"]


class PaymentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "order_id", "customer_id", "amount_cents", "currency", "status"]


class AccountCollectionApi(ServiceApi):
    """POST opens an account with a deposit; GET lists accounts by customer id, paginated. Operators only."""

    permission_classes = [IsOperator]

    class InputSerializer(StrictSerializer):
        customer_id = customer_id_field()
        balance_cents = StrictIntegerField(min_value=0, max_value=MAX_CENTS)
        currency = CurrencyField()

    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_create(**serializer.validated_data)
        return Response(AccountOutputSerializer(account).data, status=status.HTTP_201_CREATED)

    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=selectors.account_list(), serializer_class=AccountOutputSerializer, request=request, view=self
        )


class AccountDetailApi(ServiceApi):
    """An operator reads any account; a customer its own (another's is not found)."""

    permission_classes = [IsOperator | IsCustomer]

    def get(self, request: Request, customer_id: str) -> Response:
        account = selectors.account_get(customer_id=customer_id, owner=request.user.customer_id)
        return Response(AccountOutputSerializer(account).data)


class AccountDepositApi(ServiceApi):
    """Operators: pay money into a customer's account."""

    permission_classes = [IsOperator]

    class InputSerializer(StrictSerializer):
        amount_cents = StrictIntegerField(min_value=1, max_value=MAX_CENTS)

    @idempotent
    def post(self, request: Request, customer_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_deposit(customer_id=customer_id, **serializer.validated_data)
        return Response(AccountOutputSerializer(account).data)


class MerchantApi(ServiceApi):
    permission_classes = [IsOperator]

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = MerchantAccount
            fields = ["balance_cents", "currency"]

    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.merchant_get()).data)


class OrderFilterSerializer(serializers.Serializer):
    order_id = serializers.UUIDField(required=False)


class PaymentListApi(ServiceApi):
    """Operators: payments, newest first, paginated; filter `?order_id=`."""

    permission_classes = [IsOperator]

    def get(self, request: Request) -> Response:
        filters = OrderFilterSerializer(data=request.query_params)
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

    permission_classes = [IsOperator]

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = PaymentEvent
            fields = ["id", "order_id", "kind", "amount_cents", "idempotency_key", "created_at"]

    def get(self, request: Request) -> Response:
        filters = OrderFilterSerializer(data=request.query_params)
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

    @idempotent
    def post(self, request: Request) -> Response:
        serializer = OrderRefSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bind(order_id=str(serializer.validated_data["order_id"]))
        payment = services.payment_void(
            **serializer.validated_data, idempotency_key=request_idempotency_key(request)
        )
        return Response(PaymentOutputSerializer(payment).data)


class PaymentCaptureApi(ServiceApi):
    """The saga's pivot: move the held amount to the merchant."""

    permission_classes = [IsSaga]

    @idempotent
    def post(self, request: Request) -> Response:
        serializer = OrderRefSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bind(order_id=str(serializer.validated_data["order_id"]))
        payment = services.payment_capture(
            **serializer.validated_data, idempotency_key=request_idempotency_key(request)
        )
        return Response(PaymentOutputSerializer(payment).data)

"""The payment floor: authorize, void and capture, each the product's service function in the
floor's transaction (see recorded.py), taking the product's request bodies and answering with its
output serializer."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from payments import services
from payments.apis import PaymentOutputSerializer as PaymentSerializer
from payments.models import Payment
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from infra.bench.framework_floor.recorded import SAGA, recorded_command


class OrderRefSerializer(serializers.Serializer[object]):
    order_id = serializers.UUIDField()


class AuthorizeView(APIView):
    class InputSerializer(OrderRefSerializer):
        customer_id = serializers.CharField(max_length=200)
        amount_cents = serializers.IntegerField(min_value=1)
        currency = serializers.CharField(max_length=3)

    def post(self, request: Request) -> HttpResponse:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def authorize(key: str) -> tuple[Mapping[str, object], int]:
            payment, created = services.payment_authorize(**serializer.validated_data, idempotency_key=key)
            return PaymentSerializer(payment).data, 201 if created else 200

        return recorded_command(request, principal=SAGA, effect=authorize)


class OrderRefView(APIView):
    """Void or capture: `command` is the service function (given to as_view), called with the order."""

    command: Callable[..., Payment] | None = None

    def post(self, request: Request) -> HttpResponse:
        command = self.command
        if command is None:
            raise ImproperlyConfigured("OrderRefView needs its service function: as_view(command=...)")
        serializer = OrderRefSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return recorded_command(
            request,
            principal=SAGA,
            effect=lambda key: (
                PaymentSerializer(command(**serializer.validated_data, idempotency_key=key)).data,
                200,
            ),
        )

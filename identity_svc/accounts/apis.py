"""identity_svc's REST API: operators create users (customers with the id other services already
know, or other operators); everyone signed in reads their own account. Views validate, call one
service or selector, and serialize."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.errors import PasswordRefused, UserExists, UserNotFound
from accounts.models import User
from chassis.api import ServiceApi
from chassis.auth import Principal
from chassis.fields import StrictSerializer, customer_id_field
from chassis.idempotency.decorators import idempotent
from chassis.permissions import IsCustomer, IsOperator
from chassis.schema import answers


class UserOutputSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["subject", "email", "role", "date_joined"]


class UserCollectionApi(ServiceApi):
    """Operators: create a user. A customer may be given the id the other services know it by."""

    permission_classes = [IsOperator]

    class InputSerializer(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
        role = serializers.ChoiceField(choices=User.Role.choices, default=User.Role.CUSTOMER)
        subject = customer_id_field(required=False)

    @extend_schema(
        operation_id="createUser",
        summary="Create a customer or an operator",
        tags=["users"],
        request=InputSerializer,
        responses=answers({201: UserOutputSerializer}, UserExists, PasswordRefused),
        examples=[
            OpenApiExample(
                "a customer",
                request_only=True,
                value={"email": "alice@example.com", "password": "a long passphrase", "subject": "alice"},
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class MeApi(ServiceApi):
    """The caller's own account, by the subject of its token: 404 for a token whose subject has no user
    here (an operator or a customer made by another provider)."""

    permission_classes = [IsCustomer | IsOperator]

    @extend_schema(
        operation_id="getMe",
        summary="Your own account",
        tags=["users"],
        responses=answers({200: UserOutputSerializer}, UserNotFound),
    )
    def get(self, request: Request) -> Response:
        principal = cast(Principal, request.user)
        return Response(UserOutputSerializer(selectors.user_get(subject=principal.subject)).data)

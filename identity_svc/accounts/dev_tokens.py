"""The development token path: POST /dev/v1/tokens signs a token for any subject and roles, for
`sagactl token` and the tests, to whoever shows IDENTITY_DEV_TOKEN_SECRET. Without that setting the
route does not exist (config.urls), and production refuses the setting (config.settings)."""

from __future__ import annotations

import hmac
import time

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.tokens import sign_access_token
from chassis.api import ServiceApi
from chassis.auth import REALM
from chassis.fields import StrictIntegerField, StrictSerializer, customer_id_field
from chassis.tokens import DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, ROLE_AUDITOR, ROLE_OPERATOR, ROLE_SAGA

SECRET_HEADER = "X-Dev-Token-Secret"
DEV_CLIENT_ID = "sagactl"


@extend_schema(exclude=True)  # a development facility, absent in production: not the API
class DevTokenApi(ServiceApi):
    authentication_classes = []
    permission_classes = [AllowAny]

    class InputSerializer(StrictSerializer):
        subject = customer_id_field()
        roles = serializers.ListField(
            child=serializers.ChoiceField(choices=[ROLE_OPERATOR, ROLE_SAGA, ROLE_AUDITOR]),
            max_length=3,
            default=list,
        )
        ttl_seconds = StrictIntegerField(min_value=1, max_value=MAX_TTL_SECONDS, default=DEFAULT_TTL_SECONDS)
        # Issued this long ago: an expired token, for the tests that prove it is refused.
        age_seconds = StrictIntegerField(min_value=0, max_value=MAX_TTL_SECONDS, default=0)

    def get_authenticate_header(self, request: Request) -> str:
        """A refusal without the secret is 401: DRF answers 403 when a view has no authentication
        class to name here. The chassis's error handler writes the header the 401 carries."""
        return f'Bearer realm="{REALM}"'

    def post(self, request: Request) -> Response:
        shown = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(shown.encode(), settings.IDENTITY_DEV_TOKEN_SECRET.encode()):
            raise NotAuthenticated(f"The development token path needs the {SECRET_HEADER} header.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ttl = serializer.validated_data["ttl_seconds"]
        token = sign_access_token(
            subject=serializer.validated_data["subject"],
            client_id=DEV_CLIENT_ID,
            roles=serializer.validated_data["roles"],
            ttl_seconds=ttl,
            now=time.time() - serializer.validated_data["age_seconds"],
        )
        return Response(
            {"access_token": token, "token_type": "Bearer", "expires_in": ttl}, status=status.HTTP_201_CREATED
        )

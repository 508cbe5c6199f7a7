"""The provider's extensions to django-oauth-toolkit: the claims it puts in ID tokens and userinfo,
the JWKS it publishes, and a discovery document that names what it really signs with."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from oauth2_provider.exceptions import InvalidOIDCClientError
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import ConnectDiscoveryInfoView, RPInitiatedLogoutView

from accounts.keys import ALGORITHM, published_keys

JWKS_MAX_AGE_SECONDS = 300
"""How long a client may cache the JWKS; a token naming an unknown key makes the services fetch it
again at once, so a new key is picked up before this runs out."""


class Validator(OAuth2Validator):
    """Tokens name a user by its stable subject, never by its database id, and a deactivated user
    gets no more of them."""

    oidc_claim_scope = {"sub": "openid", "email": "email", "email_verified": "email", "roles": "profile"}

    def get_claim_dict(self, request: Any) -> dict[str, Any]:
        if request.user is None:
            # A client signed in as itself (client credentials): like its token, the claims name it.
            return {"sub": request.client.client_id, "roles": request.client.roles}
        return {
            "sub": request.user.subject,
            "email": request.user.email,
            "email_verified": False,
            "roles": request.user.roles,
        }

    def get_discovery_claims(self, request: Any) -> list[str]:
        return ["sub", "email", "email_verified", "roles"]

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """django-oauth-toolkit's check, and that the user is still active: it does not look, so a
        deactivated user's refresh token would go on minting access tokens until it expired."""
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        return bool(valid) and request.user.is_active


class LogoutView(RPInitiatedLogoutView):
    """/oauth/logout (RP-initiated logout): the toolkit's, except that an unknown `client_id` is the
    protocol's invalid-client refusal (400) where the toolkit lets its look-up fail with a 500."""

    def get_request_application(self, id_token: Any, client_id: str | None) -> Any:
        if client_id:
            application = get_application_model().objects.filter(client_id=client_id).first()
            if application is None:
                raise InvalidOIDCClientError()
            return application
        return super().get_request_application(id_token, client_id)


class DiscoveryView(ConnectDiscoveryInfoView):
    """/.well-known/openid-configuration: django-oauth-toolkit's document, whose signing algorithms
    it reads from a setting this provider does not use (keys are in the database, accounts.keys)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        document = json.loads(response.content)
        document["id_token_signing_alg_values_supported"] = [ALGORITHM]
        document["grant_types_supported"] = ["authorization_code", "refresh_token", "client_credentials"]
        document["revocation_endpoint"] = self._get_endpoint_url(request, "revoke-token", required=True)
        replaced = JsonResponse(document)
        replaced["Access-Control-Allow-Origin"] = "*"
        return replaced


class JwksView(View):
    """/.well-known/jwks.json: the public half of every published signing key."""

    def get(self, request: HttpRequest) -> JsonResponse:
        response = JsonResponse({"keys": [key.public_jwk() for key in published_keys()]})
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_SECONDS}"
        return response

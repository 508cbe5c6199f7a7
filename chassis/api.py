"""The base class of every API view: DRF's APIView, with anonymous callers throttled too.

DRF checks authentication, then permissions, then throttles, so a request without a valid token is
refused (401) before any throttle counts it. Here an unauthenticated request is counted against its
client address first, so a flood of bad tokens meets 429 like any other flood.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.views import APIView


class ServiceApi(APIView):
    def perform_authentication(self, request) -> None:
        try:
            super().perform_authentication(request)
        except exceptions.AuthenticationFailed:
            self.check_throttles(request)
            raise

    def permission_denied(self, request, message=None, code=None) -> None:
        if request.successful_authenticator is None:
            self.check_throttles(request)
        super().permission_denied(request, message=message, code=code)

"""The base class of every API view: DRF's APIView, with every request counted by the throttles.

DRF checks authentication, then permissions, then throttles, so a request without a valid token
(401) or without the right (403) is refused before any throttle counts it, and a flood of bad tokens
or forbidden calls would never meet a limit. Here the throttles run first: after authentication
(refused or not, so an anonymous caller is counted by its address) and before permissions.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView


class ServiceApi(APIView):
    def perform_authentication(self, request: Request) -> None:
        try:
            super().perform_authentication(request)
        except exceptions.AuthenticationFailed:
            self.check_throttles(request)
            raise

    def check_permissions(self, request: Request) -> None:
        self.check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request: Request) -> None:
        """Count the request once, whichever of the calls above (or DRF's own, after the permissions)
        comes first."""
        if getattr(request, "_throttles_counted", False):
            return
        request._throttles_counted = True  # type: ignore[attr-defined]  # a mark of this request's own
        super().check_throttles(request)

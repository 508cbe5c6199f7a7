"""Abuse limits per principal: DRF rate throttles keyed by who is calling.

A customer (and an operator, when THROTTLE_OPERATORS is on) is counted by its principal; an
anonymous request by its client address (REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES
proxies); the saga is never throttled. Rates come from THROTTLE_RATES, read at each request so
settings can change them; the counters live in Django's default cache (local memory, or Redis
with REDIS_URL).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from chassis.auth import OPERATOR, SAGA


class PrincipalRateThrottle(SimpleRateThrottle):
    scope = "requests"

    def get_rate(self) -> str | None:
        return settings.THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()  # DRF resolves it once per instance; settings may have changed
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        principal = request.user
        if principal is None:
            ident = f"ip:{self.get_ident(request)}"
        elif principal.kind == SAGA or (principal.kind == OPERATOR and not settings.THROTTLE_OPERATORS):
            return None
        else:
            ident = principal.key
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RequestRateThrottle(PrincipalRateThrottle):
    """Every request: THROTTLE_RATES["requests"] (default 600/min)."""

    scope = "requests"


class OrderPlacementThrottle(PrincipalRateThrottle):
    """Order placements (POSTs of the view it is on): THROTTLE_RATES["order_placements"] (120/min)."""

    scope = "order_placements"

    def allow_request(self, request, view) -> bool:
        return request.method != "POST" or super().allow_request(request, view)

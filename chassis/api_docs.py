"""`/api/docs/`: a service's OpenAPI schema (`schema.json`, built by chassis.schema) and Swagger UI.

Open to anyone, throttled as anonymous callers: the API's shape is no secret, and "Try it out" asks
for a bearer token like any client.
"""

import threading

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response


class SchemaView(SpectacularJSONAPIView):
    """The schema, built by one thread of the process at a time: drf-spectacular loads its extensions
    on first use without a lock, and two first requests at once failed with a 500."""

    _building = threading.Lock()

    def _get_schema_response(self, request: Request) -> Response:
        with self._building:
            response: Response = super()._get_schema_response(request)  # type: ignore[no-untyped-call]  # drf-spectacular's is unannotated
            return response


urlpatterns = [
    path("api/docs/schema.json", SchemaView.as_view(), name="schema"),
    # The schema by a relative URL, so the page works under any prefix (the gateway serves it under
    # /api/docs/<service>/).
    path("api/docs/", SpectacularSwaggerView.as_view(url="schema.json"), name="swagger-ui"),
]

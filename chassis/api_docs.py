"""`/api/docs/`: a service's OpenAPI schema (`schema.json`, built by chassis.schema) and Swagger UI.

Open to anyone, throttled as anonymous callers: the API's shape is no secret, and "Try it out" asks
for a bearer token like any client.
"""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

urlpatterns = [
    path("api/docs/schema.json", SpectacularJSONAPIView.as_view(), name="schema"),
    # The schema by a relative URL, so the page works under any prefix (the gateway serves it under
    # /api/docs/<service>/).
    path("api/docs/", SpectacularSwaggerView.as_view(url="schema.json"), name="swagger-ui"),
]

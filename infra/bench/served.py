"""How many HTTP requests a service has answered so far, read from its own /metrics.

django-prometheus counts every response in `django_http_responses_total_by_status_view_method`
before the response leaves the process (gunicorn's workers summed in multiprocess mode); the
scrapes of /metrics itself (view `metrics`) are left out, so reading the count before and after a
run gives exactly the requests answered in between. A request refused by a middleware before the
view is resolved (a body over the limit) is not counted: the bench sends none.
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

RESPONSES = "django_http_responses_total_by_status_view_method"
SCRAPE_VIEW = "metrics"


def responses_answered(metrics_text: str) -> int:
    """The responses a /metrics page counts, scrapes of /metrics left out."""
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(metrics_text)
            if family.name == RESPONSES
            for sample in family.samples
            if sample.name == f"{RESPONSES}_total" and sample.labels.get("view") != SCRAPE_VIEW
        )
    )


async def requests_answered(http: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, int]:
    """Per service (name -> base URL): the requests it has answered so far."""
    answered = {}
    for service, url in urls.items():
        response = await http.get(f"{url}/metrics")
        response.raise_for_status()
        answered[service] = responses_answered(response.text)
    return answered

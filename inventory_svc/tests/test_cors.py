"""Cross-origin calls (chassis.cors), as every service answers them: a preflight from the one allowed
origin is admitted with the headers the storefront sends and reads, any other origin gets no CORS
header at all, nothing but the API's paths answers cross-origin, and settings that would allow more
than exact origins stop the service, production's with one line that names the variable."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from chassis.cors import cors_settings
from chassis.testing import manage_py, production_environment

SERVICE = Path(__file__).resolve().parents[1]
STOREFRONT = "http://127.0.0.1:8005"
PRODUCT = "/api/v1/products/BEANS-1KG"


def preflight(origin: str, path: str = PRODUCT, method: str = "POST") -> dict[str, str]:
    """The headers of the answer to a browser's preflight from `origin`, lower-cased."""
    answer = APIClient().options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key, traceparent",
        },
    )
    assert answer.status_code == 200, answer.content
    return {name.lower(): value for name, value in answer.headers.items()}


def cors_headers(headers: dict[str, str]) -> set[str]:
    return {name for name in headers if name.startswith("access-control-")}


@pytest.fixture
def allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [STOREFRONT]


@pytest.mark.usefixtures("allowed")
def test_a_preflight_from_the_allowed_origin_is_admitted_with_the_storefronts_headers():
    headers = preflight(STOREFRONT)

    assert headers["access-control-allow-origin"] == STOREFRONT
    assert {"authorization", "content-type", "idempotency-key", "traceparent", "tracestate"} <= {
        name.strip() for name in headers["access-control-allow-headers"].split(",")
    }
    assert "POST" in headers["access-control-allow-methods"]
    assert int(headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in headers  # tokens travel in a header, not a cookie
    assert "origin" in headers["vary"].lower()


@pytest.mark.usefixtures("allowed")
def test_an_answer_to_the_allowed_origin_lets_it_read_the_error_shape_and_the_retry_headers():
    answer = APIClient().get(PRODUCT, headers={"Origin": STOREFRONT})  # no token

    assert answer.status_code == 401
    assert answer["Access-Control-Allow-Origin"] == STOREFRONT
    assert {name.strip() for name in answer["Access-Control-Expose-Headers"].split(",")} == {
        "retry-after",
        "x-request-id",
    }


@pytest.mark.usefixtures("allowed")
@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://127.0.0.1:8006",  # another port is another origin
        "https://127.0.0.1:8005",  # and so is another scheme
        "http://127.0.0.1:8005.evil.example",
        "null",
    ],
)
def test_any_other_origin_gets_no_cors_header(origin):
    assert cors_headers(preflight(origin)) == set()
    assert cors_headers(dict(APIClient().get(PRODUCT, headers={"Origin": origin}).headers)) == set()


@pytest.mark.django_db  # /readyz and /metrics read the database
@pytest.mark.usefixtures("allowed")
@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/metrics", "/admin/login/", "/internal/v1/reservations"]
)
def test_nothing_but_the_api_answers_cross_origin(path):
    answer = APIClient().get(path, headers={"Origin": STOREFRONT})

    assert cors_headers({name.lower(): value for name, value in answer.headers.items()}) == set()


def test_without_allowed_origins_no_cors_header_is_sent_and_nothing_answers_differently():
    answer = APIClient().options(
        PRODUCT, headers={"Origin": STOREFRONT, "Access-Control-Request-Method": "POST"}
    )

    headers = {name.lower(): value for name, value in answer.headers.items()}
    assert cors_headers(headers) == set()
    assert answer.status_code == 401  # the API's own answer: no preflight is answered for it
    assert "origin" not in headers.get("vary", "").lower()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("CORS_ALLOW_ALL_ORIGINS", True),
        ("CORS_ALLOWED_ORIGIN_REGEXES", [r"^https://.*\.shop\.example$"]),
        ("CORS_ALLOW_CREDENTIALS", True),
        ("CORS_ALLOWED_ORIGINS", ["null"]),
        ("CORS_ALLOWED_ORIGINS", ["https://shop.example/storefront"]),
    ],
)
def test_a_service_whose_settings_allow_more_than_exact_origins_serves_nothing(settings, setting, value):
    setattr(settings, setting, value)

    with pytest.raises(ImproperlyConfigured, match=r"refused|not an origin|wildcard"):
        APIClient().get("/healthz")


def test_the_allowed_origins_come_from_saga_cors_origins():
    made = cors_settings(
        {"SAGA_CORS_ORIGINS": " https://shop.example , http://127.0.0.1:8005 "}, production=False
    )

    assert made["CORS_ALLOWED_ORIGINS"] == ["https://shop.example", "http://127.0.0.1:8005"]
    assert made["CORS_ALLOW_ALL_ORIGINS"] is False
    assert made["CORS_ALLOWED_ORIGIN_REGEXES"] == []
    assert cors_settings({}, production=True)["CORS_ALLOWED_ORIGINS"] == []


@pytest.mark.parametrize(
    "origin",
    [
        "*",
        "null",
        "https://*.shop.example",
        "https://shop.example/",
        "https://shop.example/storefront",
        "https://shop.example?x=1",
        "https://user@shop.example",
        "https://SHOP.example",
        "https://shop.example:443",
        "shop.example",
        "file://",
        "https://shop.example:port",
    ],
)
def test_anything_but_exact_origins_is_refused_in_every_environment(origin):
    with pytest.raises(ImproperlyConfigured, match=r"^SAGA_CORS_ORIGINS takes exact origins only: "):
        cors_settings({"SAGA_CORS_ORIGINS": f"https://shop.example,{origin}"}, production=False)


@pytest.mark.parametrize(
    ("origins", "line"),
    [
        ("*", "SAGA_CORS_ORIGINS takes exact origins only: '*' is a wildcard, not one origin"),
        (
            "http://shop.example",
            "SAGA_CORS_ORIGINS takes exact origins only: 'http://shop.example' is plain HTTP: "
            "production takes https:// origins only",
        ),
        (
            "https://shop.example/app",
            "SAGA_CORS_ORIGINS takes exact origins only: 'https://shop.example/app' is not an origin: "
            "it has a path, a query, a fragment or a user",
        ),
    ],
    ids=["wildcard", "plain-http", "path"],
)
def test_production_refuses_to_start_on_more_than_exact_https_origins(tmp_path, origins, line):
    r = manage_py(
        SERVICE, "check", environ=production_environment(SAGA_CORS_ORIGINS=origins), var_dir=tmp_path
    )

    assert r.returncode == 1
    assert r.stderr == f"inventory_svc: {line}\n"


def test_production_takes_an_exact_https_origin(tmp_path):
    environ = production_environment(SAGA_CORS_ORIGINS="https://shop.example")

    r = manage_py(SERVICE, "check", "--deploy", "--fail-level", "WARNING", environ=environ, var_dir=tmp_path)

    assert r.returncode == 0, r.stdout + r.stderr

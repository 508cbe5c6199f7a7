"""The storefront's built files, served at identity_svc's root where no gateway serves them
(IDENTITY_STOREFRONT_DIR): the page at `/`, its config.json and its hashed assets, each with its cache
rule, the page under a policy that lets it call only the APIs its config.json names; and nothing at
all where no folder is named."""

import json
from pathlib import Path

import pytest
from accounts.storefront import api_origins, whitenoise_settings
from django.test import Client

from chassis.testing import assert_error

PAGE = b"<!doctype html><title>Saga shop</title><script type=module src=./assets/index-B9xQ3f2a.js></script>"
ASSET = "/assets/index-B9xQ3f2a.js"
CONFIG = {
    "identity": "http://127.0.0.1:8005",
    "orders": "http://127.0.0.1:8001",
    "inventory": "http://127.0.0.1:8003",
    "payments": "http://127.0.0.1:8002",
    "notifications": "",
    "faults": {
        "order_svc": "http://127.0.0.1:8001/api/v1/faults",
        "inventory_svc": "/api/v1/faults/inventory",
        "payment_svc": "http://127.0.0.1:8002/api/v1/faults",
    },
    "client_id": "storefront",
    "temporal_ui": "http://127.0.0.1:8233",
    "namespace": "default",
}


@pytest.fixture
def storefront(tmp_path: Path, settings) -> Path:
    """A built storefront in a folder of its own, which identity_svc serves (WhiteNoise reads the
    folder when a test's client first answers)."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(PAGE)
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    (tmp_path / ASSET.lstrip("/")).write_text("console.log('shop');")
    (tmp_path / "assets" / "index-Cq1v0e9Z.css").write_text("body { margin: 0; }")
    for name, value in whitenoise_settings(tmp_path).items():
        setattr(settings, name, value)
    return tmp_path


@pytest.mark.usefixtures("storefront")
def test_the_page_is_served_at_the_root_and_checked_again_on_every_load():
    page = Client().get("/")

    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert b"".join(page.streaming_content) == PAGE
    assert page["Cache-Control"] == "no-cache"


@pytest.mark.usefixtures("storefront")
def test_its_configuration_is_checked_again_on_every_load():
    answer = Client().get("/config.json")

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/json")
    assert json.loads(b"".join(answer.streaming_content)) == CONFIG
    assert answer["Cache-Control"] == "no-cache"


@pytest.mark.usefixtures("storefront")
@pytest.mark.parametrize(
    ("path", "content_type"),
    [(ASSET, "text/javascript"), ("/assets/index-Cq1v0e9Z.css", "text/css")],
)
def test_the_hashed_assets_are_cached_for_good(path, content_type):
    answer = Client().get(path)

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith(content_type)
    assert "immutable" in answer["Cache-Control"]
    assert "max-age=315360000" in answer["Cache-Control"]


@pytest.mark.usefixtures("storefront")
def test_the_page_may_call_its_own_origin_and_the_apis_its_configuration_names_and_nothing_else():
    page = Client().get("/")

    policy = dict(part.strip().split(" ", 1) for part in page["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["connect-src"].split() == [
        "'self'",
        "http://127.0.0.1:8005",
        "http://127.0.0.1:8001",
        "http://127.0.0.1:8003",
        "http://127.0.0.1:8002",
    ]
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "no-referrer"


def test_the_origins_are_those_of_absolute_urls_only():
    assert api_origins({"orders": "", "identity": "https://id.shop.example/", "faults": {"x": "/api"}}) == [
        "https://id.shop.example"
    ]
    assert api_origins({"orders": 42, "faults": "not a map"}) == []


@pytest.mark.usefixtures("storefront")
def test_the_service_s_own_pages_and_api_are_still_its_own():
    assert Client().get("/accounts/sign-in").status_code == 200
    assert_error(Client().get("/api/v1/me"), 401, "not_authenticated")
    assert_error(Client().get("/assets/missing.js"), 404, "not_found")


def test_without_a_storefront_folder_nothing_is_served_at_the_root():
    assert_error(Client().get("/"), 404, "not_found")
    assert_error(Client().get("/config.json"), 404, "not_found")

"""GET /api/v1/catalog: the public catalog. Anyone reads it without a token (a stale or bad one is
ignored, never a 401); each product shows its name, price and a band of availability, never a count;
pages are cacheable with an ETag (304 on a match); callers are throttled by client address; and a
hostile query is a 400 or a 404 in the error shape, never a 500."""

import re
import uuid

import pytest
from inventory import services

from chassis.testing import ApiClient, assert_error

pytestmark = pytest.mark.django_db

CATALOG = "/api/v1/catalog"
ENTRY_FIELDS = {"sku", "name", "price_cents", "currency", "availability"}


@pytest.fixture(autouse=True)
def low_stock_below_five(settings):
    settings.STOCK_LOW_THRESHOLD = 5


@pytest.fixture
def shelf(make_product):
    """Three products, one in each band of availability."""
    make_product(sku="BEANS", name="Coffee beans", price_cents=2490, on_hand=40)
    make_product(sku="KETTLE", name="Kettle", price_cents=5900, on_hand=0)
    make_product(sku="MUG", name="Mug", price_cents=1200, on_hand=3)


def entries(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {entry["sku"]: entry for entry in response.json()["results"]}


def test_anyone_reads_the_catalog_by_sku_with_prices_and_bands_and_no_counts(anonymous, shelf):
    r = anonymous.get(CATALOG)

    body = r.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert body["results"] == [
        {
            "sku": "BEANS",
            "name": "Coffee beans",
            "price_cents": 2490,
            "currency": "USD",
            "availability": "in_stock",
        },
        {
            "sku": "KETTLE",
            "name": "Kettle",
            "price_cents": 5900,
            "currency": "USD",
            "availability": "out_of_stock",
        },
        {"sku": "MUG", "name": "Mug", "price_cents": 1200, "currency": "USD", "availability": "low_stock"},
    ]
    assert all(set(entry) == ENTRY_FIELDS for entry in body["results"])
    for count in ("on_hand", "reserved", "available", "received"):
        assert count not in r.content.decode(), "the catalog never tells a count"


@pytest.mark.parametrize(
    ("on_hand", "reserved", "band"),
    [
        (0, 0, "out_of_stock"),
        (4, 4, "out_of_stock"),  # all of it reserved: nothing free to reserve
        (1, 0, "low_stock"),
        (9, 5, "low_stock"),  # 4 free, below the threshold of 5
        (10, 5, "in_stock"),  # 5 free: at the threshold is no longer low
        (1000, 0, "in_stock"),
    ],
)
def test_the_band_follows_what_is_free_to_reserve(anonymous, make_product, on_hand, reserved, band):
    make_product(sku="A", on_hand=on_hand, reserved=reserved)
    assert entries(anonymous.get(CATALOG))["A"]["availability"] == band


def test_a_reservation_moves_a_product_into_a_lower_band(anonymous, make_product):
    make_product(sku="A", on_hand=6)
    assert entries(anonymous.get(CATALOG))["A"]["availability"] == "in_stock"
    services.reservation_create(order_id=uuid.uuid4(), items=[("A", 2)])
    assert entries(anonymous.get(CATALOG))["A"]["availability"] == "low_stock"
    services.reservation_create(order_id=uuid.uuid4(), items=[("A", 4)])
    assert entries(anonymous.get(CATALOG))["A"]["availability"] == "out_of_stock"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer expired.or.forged",
        "Bearer ",
        "Basic YWxpY2U6c2VjcmV0",
        "garbage",
    ],
)
def test_a_stale_or_bad_authorization_header_is_ignored_not_a_401(shelf, authorization):
    r = ApiClient().get(CATALOG, Authorization=authorization)
    assert len(entries(r)) == 3


def test_every_kind_of_caller_reads_the_same_catalog(callers, anonymous, shelf):
    expected = anonymous.get(CATALOG).json()
    for kind, client in callers.items():
        assert client.get(CATALOG).json() == expected, kind


def test_a_page_is_cacheable_for_a_few_seconds_and_carries_a_weak_etag(anonymous, shelf):
    r = anonymous.get(CATALOG)
    assert r["Cache-Control"] == "public, max-age=5"
    assert re.fullmatch(r'W/"[0-9a-f]{32}"', r["ETag"])
    assert anonymous.get(CATALOG)["ETag"] == r["ETag"], "the same content, the same tag"


def test_a_conditional_get_of_an_unchanged_page_is_304_without_a_body(anonymous, shelf):
    etag = anonymous.get(CATALOG)["ETag"]

    for header in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        r = anonymous.get(CATALOG, **{"If-None-Match": header})
        assert r.status_code == 304, header
        assert r.content == b""
        assert (r["ETag"], r["Cache-Control"]) == (etag, "public, max-age=5")


def test_a_change_of_price_or_band_changes_the_etag(anonymous, shelf, make_product):
    etag = anonymous.get(CATALOG)["ETag"]
    services.product_restock(sku="KETTLE", quantity=10)

    r = anonymous.get(CATALOG, **{"If-None-Match": etag})

    assert r.status_code == 200
    assert r["ETag"] != etag
    assert entries(r)["KETTLE"]["availability"] == "in_stock"


def test_each_page_has_its_own_etag(anonymous, shelf):
    first = anonymous.get(CATALOG, {"page_size": "2"})
    second = anonymous.get(CATALOG, {"page_size": "2", "page": "2"})
    assert [len(entries(first)), len(entries(second))] == [2, 1]
    assert first["ETag"] != second["ETag"]
    assert (
        anonymous.get(
            CATALOG, {"page": "2", "page_size": "2"}, **{"If-None-Match": first["ETag"]}
        ).status_code
        == 200
    )


@pytest.mark.parametrize("header", ['"nope"', "W/", "not an etag at all", '"\x00"', "," * 1000])
def test_an_if_none_match_that_names_nothing_current_gets_the_page(anonymous, shelf, header):
    assert len(entries(anonymous.get(CATALOG, **{"If-None-Match": header}))) == 3


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"page": "abc"}, 400, "validation_error"),
        ({"page": "0"}, 400, "validation_error"),
        ({"page": "-1"}, 400, "validation_error"),
        ({"page": "1e9999"}, 400, "validation_error"),
        ({"page": "\x00"}, 400, "validation_error"),
        ({"page_size": "0"}, 400, "validation_error"),
        ({"page_size": "501"}, 400, "validation_error"),
        ({"page_size": "ten"}, 400, "validation_error"),
        ({"sku": "BEANS"}, 400, "validation_error"),
        ({"cache_buster": "123"}, 400, "validation_error"),
        ({"page": "2"}, 404, "not_found"),
        ({"page": "99999999999999999999999"}, 404, "not_found"),
    ],
)
def test_a_hostile_query_is_400_or_404_in_the_error_shape(anonymous, shelf, query, status, code):
    assert_error(anonymous.get(CATALOG, query), status, code)


def test_only_get_is_served(anonymous, operator):
    assert_error(anonymous.post(CATALOG, {}), 405, "method_not_allowed")
    assert_error(operator.client.delete(CATALOG), 405, "method_not_allowed")


def test_anonymous_readers_are_throttled_per_client_address(settings, shelf):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "requests": "3/min"}
    reader = ApiClient("a-stale-token")

    def from_address(address):
        return reader.client.get(CATALOG, REMOTE_ADDR=address)

    assert [from_address("10.0.0.1").status_code for _ in range(3)] == [200] * 3
    refused = from_address("10.0.0.1")
    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) > 0
    assert from_address("10.0.0.2").status_code == 200, "another address has its own allowance"


def test_the_schema_documents_the_catalog_as_public(tmp_path):
    import json

    from django.core.management import call_command

    call_command("spectacular", "--format", "openapi-json", "--file", str(tmp_path / "schema.json"))
    operation = json.loads((tmp_path / "schema.json").read_text())["paths"][CATALOG]["get"]
    assert operation["security"] == []
    assert {"401", "403"}.isdisjoint(operation["responses"])
    assert {"200", "304", "400", "404", "429"} <= set(operation["responses"])

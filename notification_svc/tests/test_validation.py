"""Bad query filters get the error shape with a 400, never a 500, and never reach the database."""

import pytest

from chassis.testing import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"customer_id": "' OR 1=1 --"}, "customer_id"),
        ({"customer_id": "x" * 65}, "customer_id"),
        ({"status": "FAILED"}, "status"),
        ({"status": "sent"}, "status"),
        ({"order_id": "42"}, "order_id"),
        ({"order_id": "../../etc/passwd"}, "order_id"),
        ({"order_id": "00000000-0000-4000-8000-00000000000g"}, "order_id"),
    ],
)
def test_hostile_filters_are_400(operator, query, field):
    r = operator.get("/api/v1/notifications", query)
    assert_error(r, 400, "validation_error")
    assert field in r.json()["details"]


def test_an_empty_filter_is_400_not_no_filter(operator):
    r = operator.get("/api/v1/notifications", {"status": "", "customer_id": ""})
    assert_error(r, 400, "validation_error")
    assert sorted(r.json()["details"]) == ["customer_id", "status"]


def test_a_customers_hostile_filter_is_400_too(customer):
    assert_error(
        customer("alice").get("/api/v1/notifications", {"status": "<script>"}), 400, "validation_error"
    )


@pytest.mark.parametrize("path", ["/api/v1/notifications/42", "/api/v1/notifications/not-a-uuid"])
def test_a_notification_id_that_is_not_a_uuid_is_not_found(operator, path):
    assert_error(operator.get(path), 404, "not_found")


@pytest.mark.parametrize("page", ["0", "-1", "x", "last", "1.0", ""])
def test_a_page_that_is_not_a_whole_number_from_1_is_400(operator, page):
    r = operator.get("/api/v1/notifications", {"page": page})
    assert_error(r, 400, "validation_error")
    assert list(r.json()["details"]) == ["page"]


def test_a_page_past_the_end_is_not_found(operator):
    assert_error(operator.get("/api/v1/notifications", {"page": "2"}), 404, "not_found")

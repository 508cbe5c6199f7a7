"""The admin keeps its sign-in, sessions and CSRF protection while sessions, users and messages run
for /admin/ alone (chassis.middleware.AdminOnlyMiddleware); API answers carry no cookie."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a-password-for-this-test-only"


@pytest.fixture
def staff() -> User:
    return User.objects.create_superuser("admin", "admin@example.test", PASSWORD)


def test_the_admin_signs_in_and_shows_its_index(staff):
    browser = Client(enforce_csrf_checks=True)
    login = browser.get("/admin/login/")
    assert login.status_code == 200
    assert "csrftoken" in login.cookies

    signed_in = browser.post(
        "/admin/login/?next=/admin/",
        {
            "username": "admin",
            "password": PASSWORD,
            "csrfmiddlewaretoken": login.cookies["csrftoken"].value,
        },
    )

    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/admin/"
    assert "sessionid" in signed_in.cookies
    assert signed_in.cookies["sessionid"]["path"] == "/admin/"
    index = browser.get("/admin/")
    assert index.status_code == 200
    assert b"Site administration" in index.content


def test_a_sign_in_without_the_csrf_token_is_refused(staff):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/admin/login/")

    refused = browser.post("/admin/login/", {"username": "admin", "password": PASSWORD})

    assert refused.status_code == 403
    assert "sessionid" not in refused.cookies


def test_a_signed_in_admin_must_still_send_the_csrf_token(staff):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)

    refused = browser.post("/admin/inventory/product/add/", {"sku": "X", "name": "X"})

    assert refused.status_code == 403


def test_api_answers_carry_no_session_or_csrf_cookie(operator):
    answer = operator.get("/api/v1/products")

    assert answer.status_code == 200
    assert not answer.cookies
    assert "Cookie" not in answer.get("Vary", "")

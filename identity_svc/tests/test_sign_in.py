"""Signing in, out, and changing the password on the service's pages. A wrong password and an
unknown address are refused with the same words; django-axes locks an account (registered or not)
after AXES_FAILURE_LIMIT failures, even against the right password; and sign-ins over the rate of
an address or of an account are answered 429."""

import re

import pytest
from accounts.models import User

from tests.browser import (
    ACCOUNT,
    LOCKED,
    PASSWORD_CHANGE,
    SIGN_IN,
    SIGN_IN_REFUSED,
    SIGN_OUT,
    THROTTLED,
    Browser,
)
from tests.factories import OTHER_PASSWORD, PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not the password at all"


def test_the_right_password_signs_in_and_opens_the_account_page(alice, browser):
    response = browser.sign_in(alice.email, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    assert browser.signed_in_as() == alice.email


def test_the_address_signs_in_however_it_is_typed(alice, browser):
    browser.sign_in("  ALICE@Example.com ", PASSWORD)

    assert browser.signed_in_as() == alice.email


def test_a_wrong_password_does_not_sign_in(alice, browser):
    response = browser.sign_in(alice.email, WRONG)

    assert response.status_code == 200
    assert SIGN_IN_REFUSED in response.content.decode()
    assert browser.signed_in_as() is None


def test_a_wrong_password_and_an_unknown_address_get_the_same_page(alice):
    wrong_password = Browser().sign_in(alice.email, WRONG)
    unknown_address = Browser().sign_in("nobody@example.com", WRONG)

    assert wrong_password.status_code == unknown_address.status_code == 200
    assert page_without(wrong_password, alice.email) == page_without(unknown_address, "nobody@example.com")
    assert SIGN_IN_REFUSED in page_without(wrong_password, alice.email)


def test_an_account_is_locked_after_the_failure_limit_even_against_the_right_password(
    settings, alice, browser
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        browser.sign_in(alice.email, WRONG)

    locked = browser.sign_in(alice.email, PASSWORD)

    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert browser.signed_in_as() is None


def test_one_failure_fewer_than_the_limit_locks_nothing(settings, alice, browser):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert browser.sign_in(alice.email, WRONG).status_code == 200

    assert browser.sign_in(alice.email, PASSWORD).status_code == 302
    assert browser.signed_in_as() == alice.email


def test_the_lock_counts_the_address_however_it_is_typed(settings, alice, browser):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        browser.sign_in(alice.email.upper() if attempt % 2 else f" {alice.email}", WRONG)

    assert browser.sign_in(alice.email, PASSWORD).status_code == 429


def test_the_lock_holds_for_every_browser_and_address(settings, alice):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        Browser().submit(
            SIGN_IN, {"username": alice.email, "password": WRONG}, REMOTE_ADDR=f"10.0.0.{attempt}"
        )

    assert Browser().submit(SIGN_IN, {"username": alice.email, "password": PASSWORD}).status_code == 429


def test_a_lock_on_one_account_leaves_the_others_alone(settings, alice, browser):
    User.objects.create_user("bob@example.com", PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        browser.sign_in(alice.email, WRONG)

    assert browser.sign_in("bob@example.com", PASSWORD).status_code == 302


def test_an_unknown_address_locks_alike(settings, alice):
    registered, unknown = Browser(), Browser()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        registered.sign_in(alice.email, WRONG)
        unknown.sign_in("nobody@example.com", WRONG)

    locked_registered = registered.sign_in(alice.email, PASSWORD)
    locked_unknown = unknown.sign_in("nobody@example.com", PASSWORD)

    assert locked_registered.status_code == locked_unknown.status_code == 429
    assert locked_registered.content == locked_unknown.content


def test_a_sign_in_resets_the_failures_counted_before_it(settings, alice, browser):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        browser.sign_in(alice.email, WRONG)
    browser.sign_in(alice.email, PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        Browser().sign_in(alice.email, WRONG)

    assert Browser().sign_in(alice.email, PASSWORD).status_code == 302


def test_sign_ins_over_the_rate_of_an_address_are_answered_429(settings, alice):
    settings.IDENTITY_RATES = {**settings.IDENTITY_RATES, "sign_in_per_address": "3/h"}
    for number in range(3):
        Browser().submit(
            SIGN_IN, {"username": f"u{number}@example.com", "password": WRONG}, REMOTE_ADDR="10.0.0.1"
        )

    throttled = Browser().submit(
        SIGN_IN, {"username": alice.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    elsewhere = Browser().submit(
        SIGN_IN, {"username": alice.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
    )

    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "60"
    assert THROTTLED in throttled.content.decode()
    assert elsewhere.status_code == 302


@pytest.mark.parametrize("proxies", [0, 1])
def test_a_forged_forwarded_for_does_not_escape_the_rate_of_an_address(settings, alice, proxies):
    """Behind the gateway (NUM_PROXIES=1) the address counted is the one the gateway saw, the last in
    X-Forwarded-For; without a proxy the header is not read at all."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    settings.IDENTITY_RATES = {**settings.IDENTITY_RATES, "sign_in_per_address": "3/h"}
    for number in range(3):
        forged = {"HTTP_X_FORWARDED_FOR": f"192.0.2.{number}, 10.0.0.1"}
        Browser().submit(SIGN_IN, {"username": f"u{number}@example.com", "password": WRONG}, **forged)

    throttled = Browser().submit(
        SIGN_IN, {"username": alice.email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.99, 10.0.0.1"
    )

    assert throttled.status_code == 429


def test_behind_the_gateway_each_address_it_saw_has_a_rate_of_its_own(settings, alice):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.IDENTITY_RATES = {**settings.IDENTITY_RATES, "sign_in_per_address": "3/h"}
    for number in range(3):
        via_gateway = {"HTTP_X_FORWARDED_FOR": "10.0.0.1"}
        Browser().submit(SIGN_IN, {"username": f"u{number}@example.com", "password": WRONG}, **via_gateway)

    elsewhere = Browser().submit(
        SIGN_IN, {"username": alice.email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.0.0.2"
    )

    assert elsewhere.status_code == 302


def test_sign_ins_over_the_rate_of_an_account_are_answered_429_from_any_address(settings, alice):
    settings.IDENTITY_RATES = {**settings.IDENTITY_RATES, "sign_in_per_account": "3/h"}
    for number in range(3):
        Browser().submit(
            SIGN_IN, {"username": alice.email, "password": WRONG}, REMOTE_ADDR=f"10.0.0.{number}"
        )

    throttled = Browser().submit(
        SIGN_IN, {"username": alice.email, "password": PASSWORD}, REMOTE_ADDR="10.0.1.1"
    )
    other_account = Browser().submit(
        SIGN_IN, {"username": "bob@example.com", "password": WRONG}, REMOTE_ADDR="10.0.1.1"
    )

    assert throttled.status_code == 429
    assert THROTTLED in throttled.content.decode()
    assert other_account.status_code == 200


def test_a_post_to_sign_out_signs_out(alices_browser):
    response = alices_browser.submit(SIGN_OUT, {})

    assert response.status_code == 302
    assert alices_browser.signed_in_as() is None


def test_a_get_of_sign_out_signs_nobody_out(alice, alices_browser):
    assert alices_browser.get(SIGN_OUT).status_code == 405
    assert alices_browser.signed_in_as() == alice.email


def test_a_sign_out_without_the_csrf_token_is_refused(alice, alices_browser):
    assert alices_browser.submit(SIGN_OUT, {}, csrf=False).status_code == 403
    assert alices_browser.signed_in_as() == alice.email


def test_the_password_changes_with_the_old_one_and_the_session_stays(alice, alices_browser):
    response = alices_browser.submit(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": OTHER_PASSWORD, "new_password2": OTHER_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    assert alices_browser.messages(ACCOUNT) == ["Your password is changed."]
    assert alices_browser.signed_in_as() == alice.email
    assert Browser().sign_in(alice.email, OTHER_PASSWORD).status_code == 302
    assert Browser().sign_in(alice.email, PASSWORD).status_code == 200


def test_the_password_does_not_change_without_the_old_one(alice, alices_browser):
    response = alices_browser.submit(
        PASSWORD_CHANGE,
        {"old_password": WRONG, "new_password1": OTHER_PASSWORD, "new_password2": OTHER_PASSWORD},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert User.objects.get().check_password(PASSWORD)


def test_a_weak_new_password_is_refused(alice, alices_browser):
    response = alices_browser.submit(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": "password1234", "new_password2": "password1234"},
    )

    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert User.objects.get().check_password(PASSWORD)


def test_password_changes_over_the_rate_of_an_account_are_answered_429(settings, alice, alices_browser):
    """The old password is checked like a sign-in's, so it is limited like one. Per hour, as every
    limit in these tests: django-ratelimit counts in fixed windows, and a window that ends between
    two attempts starts the count again (with a minute's, about one run in 1,500)."""
    settings.IDENTITY_RATES = {**settings.IDENTITY_RATES, "sign_in_per_account": "2/h"}
    attempt = {"old_password": WRONG, "new_password1": OTHER_PASSWORD, "new_password2": OTHER_PASSWORD}

    statuses = [alices_browser.submit(PASSWORD_CHANGE, attempt).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert User.objects.get().check_password(PASSWORD)


def test_changing_the_password_needs_a_signed_in_browser(browser):
    response = browser.get(PASSWORD_CHANGE)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{SIGN_IN}?next=")


def page_without(response, address: str) -> str:
    """The page with what differs between any two of its renderings taken out: the address typed
    in, and the CSRF token (masked afresh each time)."""
    page = response.content.decode().replace(address, "ADDRESS")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)

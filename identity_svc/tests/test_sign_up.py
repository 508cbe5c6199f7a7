"""Signing up on the sign-up page: CSRF-protected, one account per address however it is typed, an
Argon2 hash and never the password, Django's validators on the password, and an answer that never
tells whether an address was already registered. A customer's sign-up is published as
`identity.customer_registered`, and the subject it gets is its customer id for good."""

import re

import config.settings
import pytest
from accounts.models import User
from django.contrib.auth.hashers import identify_hasher

from chassis.events.models import OutboxEvent
from saga_contract import CUSTOMER_ID_PATTERN
from tests.browser import PASSWORD_CHANGE, SIGN_IN, SIGN_UP, Browser
from tests.factories import OTHER_PASSWORD, PASSWORD

pytestmark = pytest.mark.django_db

SIGNED_UP = "If this address was new, its account is ready: sign in with it."


def test_a_sign_up_without_the_csrf_token_is_refused_and_creates_nothing(browser):
    browser.get(SIGN_UP)

    refused = browser.submit(SIGN_UP, {"email": "alice@example.com", "password": PASSWORD}, csrf=False)

    assert refused.status_code == 403
    assert not User.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_new_customer_is_sent_to_sign_in_and_can(browser):
    response = browser.sign_up("alice@example.com", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == SIGN_IN
    assert browser.messages(SIGN_IN) == [SIGNED_UP]
    assert browser.sign_in("alice@example.com", PASSWORD).status_code == 302
    assert browser.signed_in_as() == "alice@example.com"


def test_the_address_is_stored_trimmed_and_in_lower_case(browser):
    browser.sign_up("  Alice.Smith@Example.COM ", PASSWORD)

    assert list(User.objects.values_list("email", flat=True)) == ["alice.smith@example.com"]


def test_the_same_address_typed_otherwise_is_the_same_account(browser):
    browser.sign_up("alice@example.com", PASSWORD)
    browser.sign_up(" ALICE@example.com", OTHER_PASSWORD)

    assert User.objects.count() == 1


def test_the_password_is_stored_as_an_argon2_hash(browser):
    browser.sign_up("alice@example.com", PASSWORD)

    stored = User.objects.get().password
    assert stored.startswith("argon2$argon2id$")
    assert PASSWORD not in stored


def test_the_service_hashes_with_argon2_at_django_s_full_strength(settings, browser):
    settings.PASSWORD_HASHERS = config.settings.PASSWORD_HASHERS  # not the tests' cheap Argon2

    browser.sign_up("alice@example.com", PASSWORD)

    stored = User.objects.get().password
    hasher = identify_hasher(stored)
    assert hasher.algorithm == "argon2"
    assert not hasher.must_update(stored), "hashed with the parameters the service's hasher asks for"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!pw", "too short"),
        ("password1234", "too common"),
        ("73920184657302", "entirely numeric"),
        ("alice.smith@example.com", "too similar to the email"),
    ],
)
def test_a_weak_password_is_refused_with_the_validator_s_reason_and_creates_nothing(
    browser, password, reason
):
    response = browser.sign_up("alice.smith@example.com", password)

    assert response.status_code == 200
    assert reason in response.content.decode()
    assert not User.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_weak_password_is_refused_alike_for_a_registered_address(alice):
    for_new = Browser().sign_up("new@example.com", "password1234")
    for_registered = Browser().sign_up(alice.email, "password1234")

    assert (for_new.status_code, errors_of(for_new)) == (
        for_registered.status_code,
        errors_of(for_registered),
    )
    assert User.objects.count() == 1


def test_signing_up_with_a_registered_address_answers_exactly_as_for_a_new_one(alice):
    new, registered = Browser(), Browser()

    for_new = new.sign_up("new@example.com", PASSWORD)
    for_registered = registered.sign_up(alice.email, OTHER_PASSWORD)

    assert (for_new.status_code, for_new["Location"]) == (
        for_registered.status_code,
        for_registered["Location"],
    )
    assert new.messages(SIGN_IN) == registered.messages(SIGN_IN) == [SIGNED_UP]


def test_signing_up_with_a_registered_address_creates_nothing(alice, browser):
    before = list(User.objects.values_list("email", "subject", "password")), OutboxEvent.objects.count()

    browser.sign_up(alice.email.upper(), OTHER_PASSWORD)

    assert (
        list(User.objects.values_list("email", "subject", "password")),
        OutboxEvent.objects.count(),
    ) == before


def test_signing_up_again_leaves_the_registered_password_working(alice, browser):
    browser.sign_up(" Alice@Example.com", OTHER_PASSWORD)

    assert browser.sign_in(alice.email, OTHER_PASSWORD).status_code == 200
    assert browser.sign_in(alice.email, PASSWORD).status_code == 302
    assert browser.signed_in_as() == alice.email


def test_a_customer_s_sign_up_records_one_customer_registered_event(browser):
    browser.sign_up("alice@example.com", PASSWORD)

    alice = User.objects.get()
    event = OutboxEvent.objects.get()
    assert event.type == "identity.customer_registered"
    assert event.key == alice.subject
    assert event.data == {"customer_id": alice.subject, "email": "alice@example.com"}
    assert event.published_at is None


def test_a_repeated_sign_up_records_no_second_event(browser):
    browser.sign_up("alice@example.com", PASSWORD)
    browser.sign_up("alice@example.com", PASSWORD)

    assert OutboxEvent.objects.count() == 1


def test_the_subject_is_a_customer_id(browser):
    browser.sign_up("alice@example.com", PASSWORD)

    assert re.fullmatch(CUSTOMER_ID_PATTERN, User.objects.get().subject)


def test_the_subject_stays_when_the_password_changes(alice, alices_browser):
    alices_browser.submit(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": OTHER_PASSWORD, "new_password2": OTHER_PASSWORD},
    )

    changed = User.objects.get()
    assert changed.check_password(OTHER_PASSWORD)
    assert changed.subject == alice.subject


def test_the_admin_changes_an_address_but_never_the_subject(alice, admin_browser):
    response = admin_browser.post(
        f"/admin/accounts/user/{alice.pk}/change/",
        {"email": "alice.smith@example.com", "role": "customer", "is_active": "on", "subject": "hijacked"},
    )

    assert response.status_code == 302, response.content
    changed = User.objects.get(pk=alice.pk)
    assert (changed.email, changed.subject) == ("alice.smith@example.com", alice.subject)


def test_an_address_the_admin_types_is_normalised_so_its_owner_can_still_sign_in(
    alice, admin_browser, browser
):
    admin_browser.post(
        f"/admin/accounts/user/{alice.pk}/change/",
        {"email": "Alice.Smith@Example.COM", "role": "customer", "is_active": "on"},
    )

    assert User.objects.get(pk=alice.pk).email == "alice.smith@example.com"
    assert browser.sign_in("alice.smith@example.com", PASSWORD).status_code == 302


def test_the_admin_cannot_add_an_address_already_registered_in_another_spelling(alice, admin_browser):
    response = admin_browser.post(
        "/admin/accounts/user/add/", {"email": alice.email.upper(), "role": "customer", "is_active": "on"}
    )

    assert response.status_code == 200
    assert "User with this Email already exists." in response.content.decode()
    assert not User.objects.filter(email__iexact=alice.email).exclude(pk=alice.pk).exists()


def test_every_customer_gets_a_subject_of_its_own(browser):
    browser.sign_up("alice@example.com", PASSWORD)
    browser.sign_up("bob@example.com", PASSWORD)

    assert len(set(User.objects.values_list("subject", flat=True))) == 2


def test_a_sign_up_from_the_authorization_request_returns_to_it_through_sign_in(browser):
    back_to = "/oauth/authorize?client_id=shop&response_type=code"

    response = browser.submit(
        f"{SIGN_UP}?next=/", {"email": "a@example.com", "password": PASSWORD, "next": back_to}
    )

    assert (
        response["Location"]
        == f"{SIGN_IN}?next=%2Foauth%2Fauthorize%3Fclient_id%3Dshop%26response_type%3Dcode"
    )


def test_a_next_that_leaves_the_site_is_dropped(browser):
    response = browser.sign_up("a@example.com", PASSWORD, next="https://evil.example/")

    assert response["Location"] == SIGN_IN


def test_sign_ups_over_the_rate_of_an_address_are_answered_429_and_create_nothing(settings, browser):
    settings.IDENTITY_RATES = {**settings.IDENTITY_RATES, "sign_up_per_address": "2/h"}
    browser.sign_up("a@example.com", PASSWORD)
    browser.sign_up("b@example.com", PASSWORD)

    throttled = browser.sign_up("c@example.com", PASSWORD)

    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "60"
    assert "Too many attempts" in throttled.content.decode()
    assert sorted(User.objects.values_list("email", flat=True)) == ["a@example.com", "b@example.com"]


@pytest.fixture
def admin_browser(client):
    """Django's admin, signed in as a superuser."""
    client.force_login(User.objects.create_superuser("root@example.com", PASSWORD))
    return client


def errors_of(page) -> list[str]:
    return re.findall(r"<li>([^<]*)</li>", page.content.decode().partition('class="errorlist')[2])

"""Signing out from a browser app (OpenID Connect RP-initiated logout): `ensure_client --browser`
registers where the app may send a person back to afterwards (its redirect URIs, unless
`--post-logout-redirect-uri` names others), the provider sends them back only there, character for
character, and production takes https:// ones only."""

import io

import pytest
from accounts.checks import refusals_of
from accounts.models import Client
from django.core.management import CommandError, call_command

from tests.oidc import REDIRECT_URI, SHOP, redirect_query, sign_in_with_code

LOGOUT = "/oauth/logout"
STOREFRONT = "storefront"


def ensure_storefront(*options: str) -> Client:
    call_command("ensure_client", STOREFRONT, "--browser", *options, stdout=io.StringIO())
    return Client.objects.get(client_id=STOREFRONT)


@pytest.mark.django_db
def test_a_browser_client_may_send_a_person_back_to_its_redirect_uris_after_signing_out():
    client = ensure_storefront(
        "--redirect-uri",
        "http://127.0.0.1:8005/",
        "--redirect-uri",
        "http://127.0.0.1:8000/",
        "--development",
    )

    assert client.post_logout_redirect_uris.split() == ["http://127.0.0.1:8005/", "http://127.0.0.1:8000/"]
    assert client.post_logout_redirect_uri_allowed("http://127.0.0.1:8000/")
    # Exactly those: not another port of the loopback address, not another path.
    assert not client.post_logout_redirect_uri_allowed("http://127.0.0.1:8001/")
    assert not client.post_logout_redirect_uri_allowed("http://127.0.0.1:8000/elsewhere")


@pytest.mark.django_db
def test_post_logout_redirect_uris_may_be_named_and_are_brought_to_the_latest_settings():
    client = ensure_storefront("--redirect-uri", "https://shop.example/")
    assert client.post_logout_redirect_uris == "https://shop.example/"

    client = ensure_storefront(
        "--redirect-uri",
        "https://shop.example/",
        "--post-logout-redirect-uri",
        "https://shop.example/signed-out",
    )
    assert client.post_logout_redirect_uris == "https://shop.example/signed-out"
    assert client.redirect_uris == "https://shop.example/"


@pytest.mark.django_db
@pytest.mark.parametrize("uri", ["shop.example/", "ftp://shop.example/", "https://shop.example/#signed-out"])
def test_a_post_logout_redirect_uri_must_be_an_absolute_web_address(uri):
    with pytest.raises(CommandError, match="is not an absolute http:// or https:// URI"):
        ensure_storefront("--redirect-uri", "https://shop.example/", "--post-logout-redirect-uri", uri)

    assert not Client.objects.exists()


@pytest.mark.django_db
def test_a_service_client_takes_no_post_logout_redirect_uri(monkeypatch):
    monkeypatch.setenv("SECRET_OF_A_SERVICE", "s" * 40)

    with pytest.raises(CommandError, match="takes no --post-logout-redirect-uri"):
        call_command(
            "ensure_client",
            "a-service",
            "--service",
            "--secret-env",
            "SECRET_OF_A_SERVICE",
            "--post-logout-redirect-uri",
            "https://shop.example/",
        )


@pytest.mark.django_db
def test_production_refuses_an_http_post_logout_redirect_uri_and_registers_nothing(settings):
    settings.IDENTITY_PRODUCTION = True

    with pytest.raises(CommandError, match="production needs https:// post-logout redirect URIs"):
        ensure_storefront(
            "--redirect-uri", "https://shop.example/", "--post-logout-redirect-uri", "http://shop.example/"
        )

    assert not Client.objects.exists()


def test_production_will_not_serve_with_an_http_post_logout_redirect_uri_registered(settings):
    settings.IDENTITY_PRODUCTION = True
    client = Client(
        client_id="shop",
        redirect_uris="https://shop.example/",
        post_logout_redirect_uris="http://shop.example/",
    )

    assert refusals_of(client) == [
        "client shop redirects to http://shop.example/ after signing out: production needs https:// "
        "post-logout redirect URIs"
    ]


@pytest.mark.usefixtures("shop")
def test_signing_out_from_the_app_ends_the_session_and_sends_the_person_back(alices_browser):
    id_token = sign_in_with_code(alices_browser.client)["id_token"]

    answer = alices_browser.client.get(
        LOGOUT,
        {
            "id_token_hint": id_token,
            "client_id": SHOP,
            "post_logout_redirect_uri": REDIRECT_URI,
            "state": "s-1",
        },
    )

    assert redirect_query(answer) == {"state": "s-1"}
    assert alices_browser.signed_in_as() is None


@pytest.mark.usefixtures("shop")
def test_signing_out_never_sends_the_person_to_an_address_not_registered(alice, alices_browser):
    id_token = sign_in_with_code(alices_browser.client)["id_token"]

    answer = alices_browser.client.get(
        LOGOUT,
        {
            "id_token_hint": id_token,
            "client_id": SHOP,
            "post_logout_redirect_uri": "http://127.0.0.1:5174/callback",
        },
    )

    assert answer.status_code == 400
    assert alices_browser.signed_in_as() == alice.email


@pytest.mark.usefixtures("shop")
def test_signing_out_for_a_client_that_does_not_exist_is_refused_and_signs_nobody_out(alice, alices_browser):
    sign_in_with_code(alices_browser.client)

    answer = alices_browser.client.get(
        LOGOUT, {"client_id": "no-such-client", "post_logout_redirect_uri": REDIRECT_URI}
    )

    assert answer.status_code == 400
    assert alices_browser.signed_in_as() == alice.email

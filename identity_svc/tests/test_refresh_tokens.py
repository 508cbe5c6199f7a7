"""Refresh tokens: opaque and stored as digests, rotated on every use, and a replayed one revokes its whole
family; revoking at /oauth/revoke ends a session's renewals."""

import pytest
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from tests.browser import PASSWORD_CHANGE
from tests.factories import OTHER_PASSWORD, PASSWORD
from tests.oidc import REVOKE, SHOP, published_jwks, refresh, sign_in_with_code, verified_claims

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()

pytestmark = pytest.mark.usefixtures("shop")


def test_a_refresh_token_gives_a_new_access_token_and_a_new_refresh_token(alice, alices_browser):
    first = sign_in_with_code(alices_browser.client)

    renewed = refresh(alices_browser.client, first["refresh_token"])

    assert renewed.status_code == 200, renewed.content
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    claims = verified_claims(renewed.json()["access_token"], published_jwks(alices_browser.client))
    assert (claims["sub"], claims["roles"]) == (alice.subject, [])


def test_a_refresh_token_replayed_after_rotation_revokes_the_whole_family(alices_browser):
    first = sign_in_with_code(alices_browser.client)
    second = refresh(alices_browser.client, first["refresh_token"]).json()

    replayed = refresh(alices_browser.client, first["refresh_token"])
    successor = refresh(alices_browser.client, second["refresh_token"])

    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")
    assert (successor.status_code, successor.json()["error"]) == (400, "invalid_grant")


def test_a_replay_leaves_other_sessions_alone(alices_browser):
    replayed_session = sign_in_with_code(alices_browser.client)
    other_session = sign_in_with_code(alices_browser.client)
    refresh(alices_browser.client, replayed_session["refresh_token"])
    refresh(alices_browser.client, replayed_session["refresh_token"])

    assert refresh(alices_browser.client, other_session["refresh_token"]).status_code == 200


def test_tokens_are_stored_as_digests_only(alices_browser):
    tokens = sign_in_with_code(alices_browser.client)

    assert (AccessToken.objects.count(), RefreshToken.objects.count()) == (1, 1)
    assert not AccessToken.objects.filter(token=tokens["access_token"]).exists()
    assert not RefreshToken.objects.filter(token=tokens["refresh_token"]).exists()


def test_a_deactivated_user_s_refresh_token_renews_nothing(alice, alices_browser):
    tokens = sign_in_with_code(alices_browser.client)
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    refused = refresh(alices_browser.client, tokens["refresh_token"])

    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_a_revoked_refresh_token_renews_nothing(alices_browser):
    tokens = sign_in_with_code(alices_browser.client)

    revoked = alices_browser.client.post(
        REVOKE, {"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": SHOP}
    )

    assert revoked.status_code == 200
    refused = refresh(alices_browser.client, tokens["refresh_token"])
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_a_revoked_access_token_is_no_longer_stored(alices_browser):
    tokens = sign_in_with_code(alices_browser.client)
    assert AccessToken.objects.count() == 1

    revoked = alices_browser.client.post(REVOKE, {"token": tokens["access_token"], "client_id": SHOP})

    assert revoked.status_code == 200
    assert AccessToken.objects.count() == 0


def test_a_password_change_ends_every_renewal_of_the_old_sessions(alices_browser):
    session = sign_in_with_code(alices_browser.client)

    changed = alices_browser.submit(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": OTHER_PASSWORD, "new_password2": OTHER_PASSWORD},
    )
    renewed = refresh(alices_browser.client, session["refresh_token"])

    assert changed.status_code == 302
    assert (renewed.status_code, renewed.json()["error"]) == (400, "invalid_grant")

"""Signing-key rotation: `rotate_signing_key` makes a new key that is published at once and signs
after the lead (so every service can know it before it meets a token of it), and the old one stays
in the JWKS until the last token it could have signed has expired, so no live token stops verifying;
after that a later rotation deletes it."""

import io
from datetime import timedelta

import jwt
import pytest
from accounts.keys import current_key, published_keys, signing_key_rotate
from accounts.models import SigningKey
from django.core.management import call_command

from chassis.tokens import JWKS_REFETCH_COOLDOWN_SECONDS
from tests.oidc import client_token, published_jwks, verified_claims

pytestmark = pytest.mark.usefixtures("saga_client")


def kid_of(answer) -> str:
    assert answer.status_code == 200, answer.content
    return jwt.get_unverified_header(answer.json()["access_token"])["kid"]


def rotate(*options: str) -> str:
    """The command without a lead, unless `options` say otherwise: the new key signs at once."""
    out = io.StringIO()
    call_command("rotate_signing_key", *(options or ("--lead-seconds", "0")), stdout=out)
    return out.getvalue()


def test_after_a_rotation_new_tokens_carry_the_new_kid(client):
    before = kid_of(client_token(client))

    rotate()

    after = kid_of(client_token(client))
    assert after != before
    assert after == current_key().kid


def test_the_jwks_lists_the_new_key_first_and_keeps_the_old_one(client):
    old = current_key().kid

    rotate()

    assert [key["kid"] for key in published_jwks(client)["keys"]] == [current_key().kid, old]


def test_a_token_signed_before_a_rotation_verifies_against_the_jwks_served_after_it(client, saga_client):
    signed_before = client_token(client).json()["access_token"]

    rotate()

    assert verified_claims(signed_before, published_jwks(client))["sub"] == saga_client


def test_the_old_key_is_published_for_the_longest_token_life_and_the_leeway(settings):
    old = current_key().kid

    new, [retired] = signing_key_rotate()

    grace = timedelta(seconds=settings.IDENTITY_LONGEST_TOKEN_SECONDS + settings.JWT_LEEWAY_SECONDS)
    assert retired.kid == old
    assert retired.published_until == retired.retired_at + grace
    assert (
        new.signs_from
        == retired.retired_at
        == new.created_at + timedelta(seconds=settings.IDENTITY_KEY_LEAD_SECONDS)
    )


def test_a_new_key_is_published_before_it_signs_and_signs_after_the_lead(settings):
    old = current_key().kid

    new, _ = signing_key_rotate()

    during = new.signs_from - timedelta(microseconds=1)
    assert current_key(now=during).kid == old
    assert [key.kid for key in published_keys(now=during)] == [new.kid, old]
    assert current_key(now=new.signs_from).kid == new.kid
    assert settings.IDENTITY_KEY_LEAD_SECONDS > JWKS_REFETCH_COOLDOWN_SECONDS


def test_the_old_key_leaves_the_jwks_when_its_time_is_over():
    old = current_key().kid
    _, [retired] = signing_key_rotate()
    last_moment = retired.published_until - timedelta(microseconds=1)

    assert old in [key.kid for key in published_keys(now=last_moment)]
    assert old not in [key.kid for key in published_keys(now=retired.published_until)]


def test_a_rotation_after_the_old_key_s_time_deletes_it():
    current_key()
    first, [oldest] = signing_key_rotate(lead_seconds=0)

    second, [retired] = signing_key_rotate(now=oldest.published_until, lead_seconds=0)

    assert retired.kid == first.kid
    assert set(SigningKey.objects.values_list("kid", flat=True)) == {first.kid, second.kid}


def test_a_rotation_before_then_keeps_every_published_key():
    oldest = current_key().kid
    first, _ = signing_key_rotate(lead_seconds=0)

    second, _ = signing_key_rotate(lead_seconds=0)

    assert [key.kid for key in published_keys()] == [second.kid, first.kid, oldest]


def test_the_command_names_the_new_key_and_how_long_the_old_one_stays():
    old = current_key().kid

    said = rotate().splitlines()

    retired = SigningKey.objects.get(kid=old)
    assert said == [
        f"signing with {current_key().kid} from {retired.retired_at:%Y-%m-%d %H:%M:%S}Z",
        f"retired {old}: published until {retired.published_until:%Y-%m-%d %H:%M:%S}Z",
    ]

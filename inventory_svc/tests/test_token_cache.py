"""A token that passed is not verified again while it lives and its key stands (chassis.auth): a
rotated or withdrawn key, or an expiry, sends it through the whole check again."""

import json
import os
import time
from pathlib import Path

import jwt
import pytest

from chassis.auth import Principal, TokenVerifier, VerdictCache, _Verdict, token_verifier
from chassis.testing import ApiClient
from chassis.tokens import DEV_AUDIENCE, DEV_ISSUER, LOCAL_ALGORITHM, LocalKeys

pytestmark = pytest.mark.django_db

OPERATOR_ONLY = "/api/v1/products"


@pytest.fixture
def own_keys(settings, tmp_path: Path) -> LocalKeys:
    """Keys of this test alone (the suite's shared key pair is never rotated)."""
    keys = LocalKeys.ensure(tmp_path / "keys")
    settings.JWT_JWKS_FILE = str(keys.jwks_file)
    return keys


def rotate(keys: LocalKeys, tmp_path: Path) -> LocalKeys:
    """Replace the JWKS file with one holding only a new key: the old key is withdrawn."""
    new = LocalKeys.ensure(tmp_path / "new-keys")
    temp = keys.jwks_file.with_suffix(".tmp")
    temp.write_text(json.dumps({"keys": [new.public_jwk]}))
    os.replace(temp, keys.jwks_file)
    return new


def count_full_checks(verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []
    whole_check = verifier._verify

    def counted(token: str):
        checked.append(token)
        return whole_check(token)

    monkeypatch.setattr(verifier, "_verify", counted)
    return checked


def test_a_token_is_checked_once_then_taken_from_the_cache(own_keys, monkeypatch):
    token = own_keys.operator_token()
    checked = count_full_checks(token_verifier(), monkeypatch)

    statuses = [ApiClient(token).get(OPERATOR_ONLY).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert checked == [token]


def test_a_cached_token_is_refused_once_its_key_is_withdrawn(own_keys, tmp_path):
    token = own_keys.operator_token()
    assert ApiClient(token).get(OPERATOR_ONLY).status_code == 200

    new = rotate(own_keys, tmp_path)

    refused = ApiClient(token).get(OPERATOR_ONLY)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    assert ApiClient(new.operator_token()).get(OPERATOR_ONLY).status_code == 200


def test_a_cached_token_is_not_taken_when_the_keys_cannot_be_read(own_keys):
    token = own_keys.operator_token()
    assert ApiClient(token).get(OPERATOR_ONLY).status_code == 200

    own_keys.jwks_file.unlink()

    assert ApiClient(token).get(OPERATOR_ONLY).status_code == 503


def test_a_refused_token_is_never_cached(own_keys, monkeypatch):
    expired = own_keys.issue(subject="operator", roles=["operator"], ttl_seconds=60, now=0)
    checked = count_full_checks(token_verifier(), monkeypatch)

    assert [ApiClient(expired).get(OPERATOR_ONLY).status_code for _ in range(2)] == [401, 401]
    assert checked == [expired, expired]


def verdict(until: float) -> _Verdict:
    return _Verdict(Principal("operator", "op"), kid="k", key=None, until=until)  # type: ignore[arg-type]  # no key: the verdict is only looked up


def test_the_cache_forgets_a_verdict_at_its_time():
    cache = VerdictCache()
    cache.put("token", verdict(until=100.0))

    assert cache.get("token", now=99.9) is not None
    assert cache.get("token", now=100.0) is None
    assert cache.get("token", now=50.0) is None  # gone for good


def test_the_cache_holds_at_most_its_size_and_forgets_the_least_recently_used():
    cache = VerdictCache(size=2)
    cache.put("a", verdict(until=100.0))
    cache.put("b", verdict(until=100.0))
    assert cache.get("a", now=0.0) is not None  # "b" is now the least recently used

    cache.put("c", verdict(until=100.0))

    assert [token for token in "abc" if cache.get(token, now=0.0)] == ["a", "c"]


def test_a_verdict_lives_until_the_token_expires_or_five_minutes_pass(own_keys):
    verifier = token_verifier()
    short, long = own_keys.operator_token(ttl_seconds=60), own_keys.operator_token(ttl_seconds=3600)
    now = time.time()

    verifier.verify(short)
    verifier.verify(long)

    assert verifier._verdicts.get(short, now).until == pytest.approx(now + 60 + verifier.leeway, abs=2)
    assert verifier._verdicts.get(long, now).until == pytest.approx(now + 300, abs=2)


def test_a_token_that_expires_beyond_any_clock_is_cached_for_five_minutes_not_refused_with_a_500(own_keys):
    now = int(time.time())
    claims = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": "operator",
        "iat": now,
        "exp": 10**400,
        "roles": ["operator"],
    }
    token = jwt.encode(
        claims, own_keys._private_key, algorithm=LOCAL_ALGORITHM, headers={"kid": own_keys.kid}
    )

    assert ApiClient(token).get(OPERATOR_ONLY).status_code == 200
    assert token_verifier()._verdicts.get(token, now).until == pytest.approx(now + 300, abs=2)

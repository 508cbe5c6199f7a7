"""Bearer token verification (chassis.auth), through the API: only a token signed by a trusted key with
an asymmetric algorithm, for our issuer and audience, and not expired (30 s leeway) gets in; the
roles it carries decide what kind of caller it is."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured

from chassis.settings import service_settings
from chassis.testing import ApiClient
from chassis.tokens import DEV_AUDIENCE, DEV_ISSUER, LOCAL_ALGORITHM, LocalKeys

pytestmark = pytest.mark.django_db

OPERATOR_ONLY = "/api/v1/products"
SAGA_ONLY = "/internal/v1/reservations"


def claims(**overrides) -> dict:
    now = int(time.time())
    return {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": "operator",
        "iat": now,
        "exp": now + 300,
        "roles": ["operator"],
        **overrides,
    }


def signed(keys: LocalKeys, payload: dict, **headers) -> str:
    """`payload` signed with `keys`' private key, naming its kid unless `headers` say otherwise."""
    return jwt.encode(
        payload, keys._private_key, algorithm=LOCAL_ALGORITHM, headers={"kid": keys.kid, **headers}
    )


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256(payload: dict, secret: bytes, kid: str) -> str:
    """An HMAC-signed token, built by hand (PyJWT would rightly refuse some of these secrets)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def assert_refused(token: str, path: str = OPERATOR_ONLY) -> None:
    r = ApiClient(token).get(path)
    assert r.status_code == 401, r.content
    assert r.json()["code"] == "invalid_token"
    assert set(r.json()) == {"code", "message", "details"}
    assert r["WWW-Authenticate"] == 'Bearer realm="saga-orders", error="invalid_token"'


def test_a_valid_operator_token_gets_in(local_keys):
    assert ApiClient(signed(local_keys, claims())).get(OPERATOR_ONLY).status_code == 200


def test_an_expired_token_is_refused(local_keys):
    an_hour_ago = time.time() - 3600
    assert_refused(local_keys.issue(subject="operator", roles=["operator"], ttl_seconds=60, now=an_hour_ago))


def test_a_token_expired_within_the_30_s_leeway_still_passes(local_keys):
    expired_20_s_ago = time.time() - 80
    token = local_keys.issue(subject="operator", roles=["operator"], ttl_seconds=60, now=expired_20_s_ago)
    assert ApiClient(token).get(OPERATOR_ONLY).status_code == 200


@pytest.mark.parametrize("other", [{"issuer": "https://evil.example"}, {"audience": "another-api"}])
def test_a_token_for_another_issuer_or_audience_is_refused(local_keys, other):
    assert_refused(local_keys.issue(subject="operator", roles=["operator"], **other))


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "aud", "sub"])
def test_a_token_without_a_required_claim_is_refused(local_keys, missing):
    payload = claims()
    del payload[missing]
    assert_refused(signed(local_keys, payload))


def test_a_token_signed_by_an_untrusted_key_is_refused(tmp_path):
    assert_refused(LocalKeys.ensure(tmp_path / "stranger").operator_token())


def test_a_token_signed_by_an_untrusted_key_that_names_our_kid_is_refused(local_keys, tmp_path):
    stranger = LocalKeys.ensure(tmp_path / "stranger")
    assert_refused(signed(stranger, claims(), kid=local_keys.kid))


def test_a_token_with_a_tampered_payload_is_refused(local_keys):
    """A customer who grants itself the operator role in its own token."""
    header, payload, signature = local_keys.customer_token("alice").split(".")
    raised = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raised["roles"] = ["operator"]
    assert_refused(f"{header}.{b64url(json.dumps(raised).encode())}.{signature}")


def test_a_token_with_a_flipped_signature_character_is_refused(local_keys):
    header, payload, signature = local_keys.operator_token().split(".")
    flipped = signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]
    assert_refused(f"{header}.{payload}.{flipped}")


@pytest.mark.parametrize("names_our_kid", [False, True])
def test_an_unsigned_alg_none_token_is_refused(local_keys, names_our_kid):
    headers = {"kid": local_keys.kid} if names_our_kid else {}
    assert_refused(jwt.encode(claims(), None, algorithm="none", headers=headers))


@pytest.mark.parametrize("secret", ["any", "public_key_bytes", "public_jwk_x"])
def test_an_hmac_token_is_refused_whatever_its_secret(local_keys, secret):
    """HS256 signed with the public key as the secret is the classic algorithm-confusion attack."""
    secrets = {
        "any": b"a shared secret",
        "public_key_bytes": base64.urlsafe_b64decode(local_keys.public_jwk["x"] + "=="),
        "public_jwk_x": local_keys.public_jwk["x"].encode(),
    }
    assert_refused(hs256(claims(), secrets[secret], local_keys.kid))


def test_a_token_naming_an_unknown_kid_is_refused(local_keys):
    assert_refused(signed(local_keys, claims(), kid="no-such-key"))


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic b3BlcmF0b3I6cHc=", "Bearer not-a-jwt"])
def test_a_malformed_authorization_header_is_refused(header):
    r = ApiClient().client.get(OPERATOR_ONLY, HTTP_AUTHORIZATION=header)
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_token"
    assert r["WWW-Authenticate"].startswith("Bearer ")


def test_a_customer_token_whose_subject_is_no_customer_id_is_refused(local_keys):
    assert_refused(local_keys.customer_token("alice smith/../root"))


def test_keycloak_realm_roles_make_an_operator(local_keys):
    payload = claims(sub="f3c1-keycloak-user", realm_access={"roles": ["operator", "offline_access"]})
    del payload["roles"]
    client = ApiClient(signed(local_keys, payload))
    assert client.get(OPERATOR_ONLY).status_code == 200
    assert client.post(SAGA_ONLY, {}).status_code == 403, "an operator, not the saga"


def test_a_token_without_roles_is_a_customer_and_gets_no_operator_endpoint(local_keys):
    r = ApiClient(local_keys.customer_token("alice")).get(OPERATOR_ONLY)
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"


def test_when_the_keys_cannot_be_read_a_token_is_not_refused_but_the_call_is_503(
    settings, local_keys, tmp_path
):
    """An outage of the key source is ours, not the caller's fault: retry later, not "log in again"."""
    settings.JWT_JWKS_FILE = str(tmp_path / "no-such-jwks.json")
    r = ApiClient(local_keys.operator_token()).get(OPERATOR_ONLY)
    assert r.status_code == 503
    assert r.json()["code"] == "auth_unavailable"


@pytest.mark.parametrize("scopes", [{"scope": "openid saga operator"}, {"scp": ["saga", "operator"]}])
def test_scopes_a_client_may_request_for_itself_grant_no_role(local_keys, scopes):
    """At many providers a client chooses its own scopes: a customer asking for `saga` or `operator`
    scopes stays a customer."""
    payload = claims(sub="mallory", **scopes)
    del payload["roles"]
    client = ApiClient(signed(local_keys, payload))
    assert client.get(OPERATOR_ONLY).status_code == 403
    assert (
        client.post(SAGA_ONLY, {"order_id": "00000000-0000-4000-8000-000000000001", "items": []}).status_code
        == 403
    )


def test_the_saga_role_alone_is_not_the_saga(local_keys):
    """The saga's commands move money: a token with the role but another subject is refused."""
    assert_refused(signed(local_keys, claims(sub="mallory", roles=["saga"])), SAGA_ONLY)


def test_the_saga_is_known_by_its_subject_or_its_client(settings, local_keys):
    settings.JWT_SAGA_SUBJECTS = ["saga-worker-client"]
    by_client = signed(
        local_keys, claims(sub="2f6e-service-account", roles=["saga"], azp="saga-worker-client")
    )
    by_subject = signed(local_keys, claims(sub="saga-worker-client", roles=["saga"]))
    for token in (by_client, by_subject):
        assert ApiClient(token).get(OPERATOR_ONLY).status_code == 403, "the saga, which reads no catalog"
    assert_refused(local_keys.saga_token(), SAGA_ONLY)  # the local subject is no longer named


def test_a_subject_longer_than_a_principal_may_be_is_refused(local_keys):
    assert_refused(signed(local_keys, claims(sub="o" * 129)))


def test_the_auditor_role_reads_what_the_audit_reads_and_changes_nothing(local_keys):
    auditor = ApiClient(local_keys.auditor_token())
    assert auditor.get(OPERATOR_ONLY).status_code == 200  # the product list, which the audit reads
    assert auditor.get("/api/v1/products/ANY").status_code == 403  # a read the audit does not make
    assert (
        auditor.post(OPERATOR_ONLY, {"sku": "X", "name": "x", "price_cents": 1, "on_hand": 1}).status_code
        == 403
    )
    assert (
        auditor.post(SAGA_ONLY, {"order_id": "00000000-0000-4000-8000-000000000009", "items": []}).status_code
        == 403
    )


def test_the_auditor_role_alone_is_not_the_auditor(settings, local_keys):
    """The auditor reads every customer's books: a customer's token that was granted the role by
    mistake is refused, not made the auditor; so is one that would also be the operator or the saga."""
    assert_refused(signed(local_keys, claims(sub="alice", roles=["auditor"])))
    settings.JWT_AUDITOR_SUBJECTS = ["audit-client"]
    by_client = signed(local_keys, claims(sub="2f6e-service-account", roles=["auditor"], azp="audit-client"))
    assert ApiClient(by_client).get(OPERATOR_ONLY).status_code == 200
    for more in (["auditor", "operator"], ["auditor", "saga"]):
        assert_refused(signed(local_keys, claims(sub="audit-client", roles=more)))


def test_the_auditor_role_is_named_by_settings(settings, local_keys):
    settings.JWT_AUDITOR_ROLE = "shop-auditor"
    settings.JWT_AUDITOR_SUBJECTS = ["audit-client"]
    renamed = signed(local_keys, claims(sub="audit-client", roles=["shop-auditor"]))
    assert ApiClient(renamed).get(OPERATOR_ONLY).status_code == 200
    # The default name is no role any more, so such a token is a customer's, which reads no catalog.
    assert ApiClient(local_keys.auditor_token()).get(OPERATOR_ONLY).status_code == 403


def test_two_roles_of_one_name_are_refused_at_start(tmp_path):
    """An auditor role named like the operator's would make every operator read-only, or the
    auditor an operator: the settings refuse it."""
    with pytest.raises(ImproperlyConfigured, match="three different names"):
        service_settings(
            name="x",
            base_dir=tmp_path,
            apps=["x"],
            environ={"JWT_AUDITOR_ROLE": "operator", "SAGA_VAR_DIR": str(tmp_path)},
        )

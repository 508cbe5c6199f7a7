"""identity_svc can be replaced by another OpenID Connect provider by settings alone. inventory_svc runs
here trusting a provider of the test's own, shaped like Keycloak (its issuer, its audience, roles in
`realm_access.roles`, service accounts named by `azp`), configured only through the settings
docs/identity.md lists: JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, JWT_SAGA_SUBJECTS,
JWT_AUDITOR_SUBJECTS. Its tokens are honoured role by role; tokens it did not sign, or signed for
another issuer or audience, are refused."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from chassis.tokens import DEV_AUDIENCE, DEV_ISSUER, LOCAL_ALGORITHM, LocalKeys
from tests.support.standalone import published_jwks, standalone_service

ISSUER = "https://sso.shop.example/realms/shop"
AUDIENCE = "shop-services"
SAGA_CLIENT = "shop-saga-worker"
AUDITOR_CLIENT = "shop-auditor"


class Provider:
    """The other provider: signs tokens shaped like Keycloak's with a key pair of its own."""

    def __init__(self, keys: LocalKeys) -> None:
        self.keys = keys

    def token(
        self,
        *,
        sub: str,
        roles: list[str] = (),
        azp: str = "shop-web",
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": sub,
            "azp": azp,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "realm_access": {"roles": list(roles)},
            "scope": "openid profile",
        }
        return jwt.encode(
            claims, self.keys._private_key, algorithm=LOCAL_ALGORITHM, headers={"kid": self.keys.kid}
        )


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Provider:
    return Provider(LocalKeys.ensure(tmp_path_factory.mktemp("other-provider")))


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory, provider: Provider) -> Iterator[str]:
    var_dir = tmp_path_factory.mktemp("inventory-on-another-provider")
    with (
        published_jwks(provider.keys) as jwks_url,
        standalone_service(
            "inventory_svc",
            var_dir,
            {
                "JWT_JWKS_URL": jwks_url,
                "JWT_ISSUER": ISSUER,
                "JWT_AUDIENCE": AUDIENCE,
                "JWT_SAGA_SUBJECTS": SAGA_CLIENT,
                "JWT_AUDITOR_SUBJECTS": AUDITOR_CLIENT,
            },
            migrate=True,
        ) as (url, _),
    ):
        yield url


def call(url: str, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    return httpx.request(method, url + path, json=body, headers=headers, timeout=10, trust_env=False)


def test_its_operator_keeps_the_catalog_and_its_customer_may_not(inventory: str, provider: Provider) -> None:
    sku = f"EXT-{uuid.uuid4().hex[:8]}"
    product = {"sku": sku, "name": "Kept by the other provider's operator", "price_cents": 990, "on_hand": 5}

    operator = provider.token(sub=str(uuid.uuid4()), roles=["operator", "offline_access"])
    customer = provider.token(sub="c-external-1", roles=["offline_access"])

    assert call(inventory, "POST", "/api/v1/products", operator, product).status_code == 201
    assert call(inventory, "GET", f"/api/v1/products/{sku}", operator).json()["on_hand"] == 5
    assert (
        call(inventory, "POST", "/api/v1/products", customer, product | {"sku": sku + "-C"}).status_code
        == 403
    )


def test_its_service_account_is_the_saga_only_when_settings_name_it(
    inventory: str, provider: Provider
) -> None:
    worker = provider.token(sub="service-account-" + SAGA_CLIENT, roles=["saga"], azp=SAGA_CLIENT)
    impostor = provider.token(sub="service-account-other", roles=["saga"], azp="other-client")

    # Past authentication and permission: the empty command is refused for what it lacks.
    assert call(inventory, "POST", "/internal/v1/reservations", worker, {}).status_code == 400
    assert call(inventory, "POST", "/internal/v1/reservations", impostor, {}).status_code == 401


def test_its_auditor_reads_and_changes_nothing(inventory: str, provider: Provider) -> None:
    auditor = provider.token(sub="service-account-" + AUDITOR_CLIENT, roles=["auditor"], azp=AUDITOR_CLIENT)

    assert call(inventory, "GET", "/api/v1/reservations", auditor).status_code == 200
    product = {"sku": "EXT-AUDIT", "name": "x", "price_cents": 1, "on_hand": 1}
    assert call(inventory, "POST", "/api/v1/products", auditor, product).status_code == 403


@pytest.mark.parametrize(
    "wrong",
    [{"issuer": DEV_ISSUER}, {"audience": DEV_AUDIENCE}, {"issuer": "https://sso.shop.example/realms/other"}],
)
def test_its_own_key_for_another_issuer_or_audience_is_refused(
    inventory: str, provider: Provider, wrong
) -> None:
    token = provider.token(sub=str(uuid.uuid4()), roles=["operator"], **wrong)

    answer = call(inventory, "GET", "/api/v1/reservations", token)
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_token")


def test_a_token_it_did_not_sign_is_refused(inventory: str, tmp_path) -> None:
    stranger = Provider(LocalKeys.ensure(tmp_path / "stranger"))

    answer = call(inventory, "GET", "/api/v1/reservations", stranger.token(sub="someone", roles=["operator"]))
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_token")

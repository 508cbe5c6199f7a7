"""The worker's identity alone: client credentials against a token endpoint on httpx.MockTransport,
and when a token is cached, refreshed or refused. The real endpoint (identity_svc) is exercised by
every test that runs a saga."""

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from urllib.parse import parse_qs

import httpx
import pytest
import pytest_asyncio

from orchestrator import auth
from orchestrator.auth import ClientCredentialsTokens, NoToken

pytestmark = pytest.mark.asyncio

ISSUER = "https://idp.test/realms/shop"
AUDIENCE = "shop-services"
TOKEN_URL = "https://idp.test/realms/shop/protocol/openid-connect/token"


class Clock:
    """Stands in for the `time` module inside orchestrator.auth: a monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(auth, "time", clock)  # only orchestrator.auth's clock; the event loop keeps its own
    return clock


# ClientCredentialsTokens: against the identity provider's token endpoint (identity_svc's, or any other)


class TokenEndpoint:
    """A MockTransport handler for the token endpoint: records requests, answers with `answer`,
    by default a fresh access token `idp-token-<n>` per request."""

    def __init__(self, answer: Callable[[int], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer or (lambda n: httpx.Response(200, json=granted(f"idp-token-{n}", 300)))

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await asyncio.sleep(0)  # let concurrent callers run into the lock
        return self._answer(len(self.requests))


def granted(access_token: str, expires_in: object) -> dict:
    return {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in}


@pytest_asyncio.fixture
async def client_credentials() -> AsyncIterator[Callable[..., ClientCredentialsTokens]]:
    """Builds ClientCredentialsTokens on a TokenEndpoint, and closes every one after the test."""
    made: list[ClientCredentialsTokens] = []

    def make(endpoint: TokenEndpoint, *, scope: str | None = "saga") -> ClientCredentialsTokens:
        tokens = ClientCredentialsTokens(
            TOKEN_URL,
            client_id="saga-worker",
            client_secret="s3cret",
            scope=scope,
            transport=httpx.MockTransport(endpoint),
        )
        made.append(tokens)
        return tokens

    yield make
    for tokens in made:
        await tokens.aclose()


async def test_client_credentials_are_sent_by_basic_auth_with_the_grant_form(client_credentials) -> None:
    endpoint = TokenEndpoint()

    assert await client_credentials(endpoint).token() == "idp-token-1"

    (request,) = endpoint.requests
    assert (request.method, str(request.url)) == ("POST", TOKEN_URL)
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"saga-worker:s3cret").decode()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {"grant_type": ["client_credentials"], "scope": ["saga"]}


async def test_without_a_scope_the_form_carries_only_the_grant(client_credentials) -> None:
    endpoint = TokenEndpoint()

    await client_credentials(endpoint, scope=None).token()

    assert parse_qs(endpoint.requests[0].content.decode()) == {"grant_type": ["client_credentials"]}


@pytest.mark.parametrize(
    ("expires_in", "refresh_after"),
    [
        (300, 240.0),  # a minute ahead of expiry
        (100, 50.0),  # short-lived: at half its life, not every call
        (None, 240.0),  # no lifetime given: taken as 300 s
    ],
)
async def test_a_granted_token_is_cached_until_shortly_before_it_expires(
    client_credentials, clock: Clock, expires_in: int | None, refresh_after: float
) -> None:
    endpoint = TokenEndpoint(lambda n: httpx.Response(200, json=granted(f"idp-token-{n}", expires_in)))
    tokens = client_credentials(endpoint)
    assert await tokens.token() == "idp-token-1"

    clock.now += refresh_after - 0.5
    assert await tokens.token() == "idp-token-1"
    assert len(endpoint.requests) == 1

    clock.now += 0.5
    assert await tokens.token() == "idp-token-2"
    assert len(endpoint.requests) == 2


async def test_an_invalidated_token_is_fetched_again(client_credentials) -> None:
    endpoint = TokenEndpoint()
    tokens = client_credentials(endpoint)
    assert await tokens.token() == "idp-token-1"

    tokens.invalidate()

    assert await tokens.token() == "idp-token-2"
    assert await tokens.token() == "idp-token-2"
    assert len(endpoint.requests) == 2


async def test_concurrent_callers_share_one_fetch(client_credentials) -> None:
    endpoint = TokenEndpoint()
    tokens = client_credentials(endpoint)

    assert await asyncio.gather(*(tokens.token() for _ in range(5))) == ["idp-token-1"] * 5
    assert len(endpoint.requests) == 1


def refuse(status: int, **content) -> Callable[[int], httpx.Response]:
    return lambda _: httpx.Response(status, **content)


def unreachable(_: int) -> httpx.Response:
    raise httpx.ConnectError("connection refused")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (refuse(401, json={"error": "invalid_client"}), "answered 401"),
        (refuse(500, json=granted("idp-token", 300)), "answered 500"),  # a grant-shaped body, yet refused
        (refuse(200, text="<html>sign in</html>"), "answered 200"),
        (refuse(200, json={"token_type": "Bearer", "expires_in": 300}), "answered 200"),
        (refuse(200, json=["idp-token"]), "answered 200"),
        (unreachable, "not reachable"),
    ],
    ids=["401", "500", "not-json", "no-access-token", "not-an-object", "connect-error"],
)
async def test_no_token_from_the_endpoint_is_credentials_unavailable(
    client_credentials, answer: Callable[[int], httpx.Response], reason: str
) -> None:
    """Whatever goes wrong at the endpoint, the caller sees NoToken, and the next
    call asks again rather than remembering the failure."""
    endpoint = TokenEndpoint(answer)
    tokens = client_credentials(endpoint)

    for _ in range(2):
        with pytest.raises(NoToken, match=reason):
            await tokens.token()

    assert len(endpoint.requests) == 2

"""A browser client of identity_svc for the end-to-end tests, over real HTTP: its forms with their
CSRF tokens, the authorization endpoint with PKCE, the token endpoint. Nothing is followed by itself,
so a test sees every redirect the provider answers with."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from infra.stack import Stack
from infra.stack.config import IDENTITY_SERVICE
from infra.stack.processes import service_migration

CSRF_COOKIE = "identity_csrftoken"
PASSWORD = "a long and private passphrase"


def register_browser_client(stack: Stack, client_id: str, redirect_uri: str) -> None:
    """A public client for the authorization code flow with PKCE, registered with `manage.py
    ensure_client` in the stack's identity_svc, as a deployment registers its front end."""
    identity = service_migration(stack.config, IDENTITY_SERVICE)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "ensure_client",
            client_id,
            "--browser",
            "--redirect-uri",
            redirect_uri,
        ],
        cwd=identity.cwd,
        env=identity.env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Browser:
    """One person's browser at identity_svc: its cookies, and the forms it posts."""

    identity_url: str

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.identity_url, timeout=10.0, trust_env=False)

    def close(self) -> None:
        self.http.close()

    def _csrf(self, page: str) -> str:
        self.http.get(page)
        return str(self.http.cookies[CSRF_COOKIE])

    def post_form(self, page: str, fields: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        form = dict(fields)
        if csrf:
            form["csrfmiddlewaretoken"] = self._csrf(page)
        return self.http.post(page, data=form, headers={"Referer": self.identity_url + page})

    def sign_up(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.post_form("/accounts/sign-up", {"email": email, "password": password})

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.post_form("/accounts/sign-in", {"username": email, "password": password})

    def authorize(
        self, client_id: str, redirect_uri: str, challenge: str | None, **extra: str
    ) -> httpx.Response:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid orders",
            "state": secrets.token_urlsafe(8),
            **({"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}),
            **extra,
        }
        return self.http.get("/oauth/authorize", params=params)

    def code(self, client_id: str, redirect_uri: str, challenge: str) -> str:
        """Sign-in must have happened: the code the provider redirects back with."""
        answer = self.authorize(client_id, redirect_uri, challenge)
        assert answer.status_code == 302, answer.text
        location = answer.headers["Location"]
        assert location.startswith(redirect_uri + "?"), location
        return parse_qs(urlsplit(location).query)["code"][0]

    def token(self, **form: str) -> httpx.Response:
        return self.http.post("/oauth/token", data=form)

    def exchange(self, client_id: str, redirect_uri: str, code: str, verifier: str | None) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code": code,
        }
        if verifier is not None:
            form["code_verifier"] = verifier
        return self.token(**form)

    def refresh(self, client_id: str, refresh_token: str) -> httpx.Response:
        return self.token(grant_type="refresh_token", client_id=client_id, refresh_token=refresh_token)


def sign_up_and_get_tokens(browser: Browser, client_id: str, redirect_uri: str, email: str) -> dict[str, Any]:
    """The whole browser flow: sign up, sign in, authorize with PKCE, exchange the code."""
    assert browser.sign_up(email).status_code == 302
    assert browser.sign_in(email).status_code == 302
    verifier, challenge = pkce_pair()
    code = browser.code(client_id, redirect_uri, challenge)
    answer = browser.exchange(client_id, redirect_uri, code, verifier)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def subject_of(token: str) -> str:
    """The `sub` of a token, unverified (the services verify it)."""
    payload = token.split(".")[1]
    claims = httpx.Response(200, content=base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).json()
    return str(claims["sub"])


def sign_in_error(response: httpx.Response) -> str | None:
    """The sign-in page's error line, if it shows one."""
    match = re.search(r'<p class="errors">(.*?)</p>', response.text)
    return match[1] if match else None

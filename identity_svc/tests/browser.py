"""The service's pages as a browser sees them: Django's test client with CSRF checks on, filling
each form's CSRF token in from the cookie the pages set."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpResponse
from django.test import Client

SIGN_UP, SIGN_IN, SIGN_OUT = "/accounts/sign-up", "/accounts/sign-in", "/accounts/sign-out"
ACCOUNT, PASSWORD_CHANGE = "/accounts/", "/accounts/password"
SIGN_IN_REFUSED = "The email address or the password is not right."
LOCKED = "Too many failed sign-ins for this account."
THROTTLED = "Too many attempts from here or for this account."


class Browser:
    """One browser: its own cookies, so its own session and CSRF token."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)

    def get(self, path: str, params: dict[str, str] | None = None) -> HttpResponse:
        return self.client.get(path, params or {})

    def submit(self, path: str, fields: dict[str, str], *, csrf: bool = True, **environ: str) -> HttpResponse:
        """POST a form from `path`, with the CSRF token the page gave (none when `csrf` is false);
        `environ` adds to the request's WSGI environment (REMOTE_ADDR)."""
        if csrf:
            if not self._csrf_cookie():
                self.client.get(path)
            fields = {**fields, "csrfmiddlewaretoken": self._csrf_cookie()}
        return self.client.post(path, fields, **environ)

    def sign_up(self, email: str, password: str, **extra: str) -> HttpResponse:
        return self.submit(SIGN_UP, {"email": email, "password": password, **extra})

    def sign_in(self, email: str, password: str, **extra: str) -> HttpResponse:
        return self.submit(SIGN_IN, {"username": email, "password": password, **extra})

    def signed_in_as(self) -> str | None:
        """The email the account page shows, or None when it sends the browser to sign in."""
        page = self.client.get(ACCOUNT)
        if page.status_code == 302:
            assert page["Location"].startswith(SIGN_IN)
            return None
        assert page.status_code == 200
        found = re.search(r"<dt>Email</dt><dd>([^<]*)</dd>", page.content.decode())
        assert found, page.content
        return found.group(1)

    def messages(self, path: str) -> list[str]:
        """The messages the page at `path` shows, once."""
        page = self.client.get(path).content.decode()
        return re.findall(
            r"<li>([^<]*)</li>", page.partition('<ul class="messages">')[2].partition("</ul>")[0]
        )

    def _csrf_cookie(self) -> str:
        cookie = self.client.cookies.get(settings.CSRF_COOKIE_NAME)
        return cookie.value if cookie else ""

"""Settings of identity_svc: the chassis defaults, the accounts app, and the OpenID Connect provider
(django-oauth-toolkit) that issues every token the other services verify.

Unlike the other services, identity_svc keeps sessions for its own pages (sign-in, sign-up, the
authorization endpoint), so it runs Django's session, user and message middleware for every request,
and django-axes behind them to lock an account after repeated failed sign-ins. Where no gateway serves
the storefront, it serves the storefront's built files at its root (IDENTITY_STOREFRONT_DIR).
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from accounts.storefront import whitenoise_settings
from django.core.exceptions import ImproperlyConfigured

from chassis.settings import service_settings
from chassis.tokens import DEV_AUDIENCE, DEV_ISSUER, JWKS_REFETCH_COOLDOWN_SECONDS, MAX_TTL_SECONDS

_env = os.environ
_chassis = service_settings(
    name="identity",
    base_dir=Path(__file__).resolve().parent.parent,
    apps=["accounts", "oauth2_provider", "axes"],
    enum_names={"UserRole": "accounts.models.User.Role"},
    description="Who the customers and operators are, and the OpenID Connect provider that signs every "
    "token the other services accept: operators create users here; everyone reads their own account.",
)
globals().update(_chassis)
_production = _env.get("DJANGO_ENV") == "production"  # service_settings has checked its value
IDENTITY_PRODUCTION = _production


def _whole(name: str, default: int, *, lowest: int, highest: int, unit: str = "seconds") -> int:
    value = _env.get(name) or str(default)
    if not value.isdigit() or not lowest <= int(value) <= highest:
        raise ImproperlyConfigured(f"{name} must be a whole number of {unit} from {lowest} to {highest}")
    return int(value)


def _rate(name: str, default: str) -> str:
    value = _env.get(name) or default
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in ("s", "m", "h", "10s"):
        raise ImproperlyConfigured(f"{name} must look like 20/m (per s, 10s, m or h), not {value!r}")
    return value


ROOT_URLCONF = "config.urls"

# identity_svc answers few requests (sign-ins, tokens, a service's JWKS fetch every five minutes): on
# a database server it keeps no connection open between them, so its idle threads hold none of the
# server's connections, which every other service's replicas and processes share.
_database = _chassis["DATABASES"]["default"]
if not _database["ENGINE"].endswith("sqlite3"):
    _database["CONN_MAX_AGE"] = 0

# Sessions for every page of this service (the chassis keeps them to /admin/ elsewhere).
_SESSIONS = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
MIDDLEWARE = [
    layer
    for name in _chassis["MIDDLEWARE"]
    for layer in (_SESSIONS if name == "chassis.middleware.AdminOnlyMiddleware" else [name])
]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
SESSION_COOKIE_PATH = "/"
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_NAME = "identity_session"
CSRF_COOKIE_NAME = "identity_csrftoken"
LOGIN_URL = "/accounts/sign-in"
LOGIN_REDIRECT_URL = "/accounts/"
LOGOUT_REDIRECT_URL = "/accounts/sign-in"

# Accounts: the email is the sign-in name; the `subject` is the stable id every token carries.
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses every attempt on a locked-out account before a password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Lock-outs (django-axes): an account is locked for IDENTITY_LOCKOUT_SECONDS after
# IDENTITY_LOCKOUT_FAILURES failed sign-ins, counted per account whether or not it exists, so the
# lock says nothing about which addresses are registered. Client addresses are limited by the rates
# below instead: a lock-out per address would lock out everyone behind one proxy.
AXES_FAILURE_LIMIT = _whole("IDENTITY_LOCKOUT_FAILURES", 5, lowest=1, highest=100, unit="failed sign-ins")
AXES_COOLOFF_TIME = timedelta(seconds=_whole("IDENTITY_LOCKOUT_SECONDS", 900, lowest=1, highest=86400))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.services.sign_in_name"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_address"
# Per address, accounts.throttling limits the rate instead (see above).
SILENCED_SYSTEM_CHECKS = [*_chassis["SILENCED_SYSTEM_CHECKS"], "axes.W006"]

# Abuse limits per client address and per account, on the sign-in form and the token endpoint
# (accounts.throttling, counted in the chassis's shared cache like the API's throttles).
IDENTITY_RATES = {
    "sign_in_per_address": _rate("IDENTITY_SIGN_IN_RATE", "30/m"),
    "sign_in_per_account": _rate("IDENTITY_SIGN_IN_ACCOUNT_RATE", "10/m"),
    "sign_up_per_address": _rate("IDENTITY_SIGN_UP_RATE", "10/m"),
    "token_per_address": _rate("IDENTITY_TOKEN_RATE", "120/m"),
    "token_per_client": _rate("IDENTITY_TOKEN_CLIENT_RATE", "60/m"),
}

# The provider. IDENTITY_ISSUER is the `iss` of every token and the base of the discovery document;
# IDENTITY_AUDIENCE is the `aud` the services expect (their JWT_ISSUER and JWT_AUDIENCE).
IDENTITY_ISSUER = (_env.get("IDENTITY_ISSUER") or DEV_ISSUER).rstrip("/")
IDENTITY_AUDIENCE = _env.get("IDENTITY_AUDIENCE") or DEV_AUDIENCE
ACCESS_TOKEN_SECONDS = _whole("IDENTITY_ACCESS_TOKEN_SECONDS", 900, lowest=60, highest=3600)
REFRESH_TOKEN_SECONDS = _whole("IDENTITY_REFRESH_TOKEN_SECONDS", 14 * 86400, lowest=300, highest=90 * 86400)
ID_TOKEN_SECONDS = 900

IDENTITY_DEV_TOKEN_SECRET = _env.get("IDENTITY_DEV_TOKEN_SECRET") or ""
"""Switches on the development token path (POST /dev/v1/tokens, accounts.dev_tokens) for sagactl and
the tests: it signs a token for any subject and role to whoever shows this secret. Production refuses it."""

IDENTITY_KEY_LEAD_SECONDS = _whole(
    "IDENTITY_KEY_LEAD_SECONDS",
    3 * JWKS_REFETCH_COOLDOWN_SECONDS,
    lowest=JWKS_REFETCH_COOLDOWN_SECONDS + 1,
    highest=86400,
    unit="seconds",
)
"""How long a new signing key is published before it signs: longer than the services wait between
two fetches of the JWKS (chassis.auth), so none of them meets a token of a key it cannot know yet."""

IDENTITY_LONGEST_TOKEN_SECONDS = max(
    ACCESS_TOKEN_SECONDS, ID_TOKEN_SECONDS, MAX_TTL_SECONDS if IDENTITY_DEV_TOKEN_SECRET else 0
)
"""How long a retired signing key stays in the JWKS: until the last token it could have signed expires."""

IDENTITY_STOREFRONT_DIR = _env.get("IDENTITY_STOREFRONT_DIR") or None
"""A folder of the storefront's built files (storefront/dist, with the config.json of this origin),
served at the root of this service where no gateway serves them: the local stack without nginx.
Unset, nothing is served there."""
if IDENTITY_STOREFRONT_DIR:
    globals().update(whitenoise_settings(Path(IDENTITY_STOREFRONT_DIR).absolute()))

OAUTH2_PROVIDER_APPLICATION_MODEL = "accounts.Client"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": IDENTITY_ISSUER,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "ID_TOKEN_EXPIRE_SECONDS": ID_TOKEN_SECONDS,
    "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": REFRESH_TOKEN_SECONDS,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    # RFC 9068 JWTs, signed with the current signing key (accounts.tokens); refresh tokens stay
    # opaque, random and stored, so they can be rotated and revoked.
    "ACCESS_TOKEN_GENERATOR": "accounts.tokens.access_token",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # PKCE on every authorization code, S256 only; no implicit or password grant.
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    # Access tokens in an Authorization header only, never in a URL; tokens stored as digests.
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "ALLOW_URI_WILDCARDS": False,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if _production else ["http", "https"],
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "Your customer id",
        "email": "Your email address",
        "orders": "Place and follow your orders",
    },
    "DEFAULT_SCOPES": ["openid", "orders"],
    "OAUTH2_VALIDATOR_CLASS": "accounts.oauth.Validator",
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
}

if _production:
    if urlsplit(IDENTITY_ISSUER).scheme != "https":
        raise ImproperlyConfigured(
            "IDENTITY_ISSUER must be the provider's public https:// address in production"
        )
    if IDENTITY_DEV_TOKEN_SECRET:
        raise ImproperlyConfigured(
            "IDENTITY_DEV_TOKEN_SECRET (the development token path) is refused in production"
        )
    if not _env.get("IDENTITY_AUDIENCE"):
        raise ImproperlyConfigured("production settings need IDENTITY_AUDIENCE")

"""identity_svc's URL map: the chassis's (health, metrics, API docs, api/v1/, the admin), the
OpenID Connect provider's endpoints, the account pages and, in development only, the token path."""

from accounts import dev_tokens, views
from accounts import oauth as provider
from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path
from oauth2_provider import views as oauth

from chassis.urls import handler400, handler404, handler500
from chassis.urls import urlpatterns as chassis_urlpatterns

# django-oauth-toolkit's views, under the names its discovery document reverses.
provider_urlpatterns = (
    [
        path("oauth/authorize", oauth.AuthorizationView.as_view(), name="authorize"),
        path("oauth/token", views.throttled_token_view, name="token"),
        path("oauth/revoke", oauth.RevokeTokenView.as_view(), name="revoke-token"),
        path("oauth/userinfo", oauth.UserInfoView.as_view(), name="user-info"),
        path("oauth/logout", provider.LogoutView.as_view(), name="rp-initiated-logout"),
        path(".well-known/jwks.json", provider.JwksView.as_view(), name="jwks-info"),
        path(
            ".well-known/openid-configuration",
            provider.DiscoveryView.as_view(),
            name="oidc-connect-discovery-info",
        ),
    ],
    "oauth2_provider",
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include(provider_urlpatterns)),
    path("accounts/", views.account, name="account"),
    path("accounts/sign-up", views.sign_up, name="sign-up"),
    path("accounts/sign-in", views.SignInView.as_view(), name="sign-in"),
    path("accounts/sign-out", views.SignOutView.as_view(), name="sign-out"),
    path("accounts/password", views.PasswordChangeView.as_view(), name="password-change"),
    *chassis_urlpatterns,
]
if settings.IDENTITY_DEV_TOKEN_SECRET:
    urlpatterns.append(path("dev/v1/tokens", dev_tokens.DevTokenApi.as_view(), name="dev-tokens"))

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]

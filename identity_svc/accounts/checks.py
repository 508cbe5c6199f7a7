"""What production refuses of the registered OAuth clients: development clients, and redirect URIs or
post-logout redirect URIs that are not https. Run when a production process starts (config.wsgi) and
by `ensure_client`."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.models import Client


def refusals_of(client: Client) -> list[str]:
    """One line per thing production refuses of `client`; none outside production."""
    if not settings.IDENTITY_PRODUCTION:
        return []
    lines = []
    if client.development:
        lines.append(f"client {client.client_id} is a development client, refused in production")
    for uri in client.redirect_uris.split():
        if urlsplit(uri).scheme != "https":
            lines.append(
                f"client {client.client_id} redirects to {uri}: production needs https:// redirect URIs"
            )
    for uri in client.post_logout_redirect_uris.split():
        if urlsplit(uri).scheme != "https":
            lines.append(
                f"client {client.client_id} redirects to {uri} after signing out: production needs "
                "https:// post-logout redirect URIs"
            )
    return lines


def refuse_unsafe_clients() -> None:
    """Raise ImproperlyConfigured with the first refusal of any registered client (production only)."""
    if not settings.IDENTITY_PRODUCTION:
        return
    for client in Client.objects.all():
        refusals = refusals_of(client)
        if refusals:
            raise ImproperlyConfigured(refusals[0])

"""`manage.py ensure_client CLIENT_ID ...`: registers an OAuth client, or brings an existing one to
the given settings. Idempotent, so a deployment runs it on every start.

- A service client signs in as itself (client credentials), with roles its tokens carry and a
  secret read from the environment variable `--secret-env` names (never from the command line).
- A browser client (authorization code with PKCE) is public and has exact redirect URIs, and exact
  URIs it may send a person back to after signing out (RP-initiated logout): those given by
  `--post-logout-redirect-uri`, or else its redirect URIs.
Production refuses development clients and http:// redirect or post-logout redirect URIs
(accounts.checks).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.checks import refusals_of
from accounts.models import Client
from chassis.tokens import ROLE_AUDITOR, ROLE_SAGA


class Command(BaseCommand):
    help = "Register an OAuth client, or update it to these settings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id")
        parser.add_argument("--name", default="")
        kind = parser.add_mutually_exclusive_group(required=True)
        kind.add_argument("--service", action="store_true", help="client credentials, with a secret")
        kind.add_argument("--browser", action="store_true", help="authorization code with PKCE, public")
        parser.add_argument("--role", action="append", default=[], choices=[ROLE_SAGA, ROLE_AUDITOR])
        parser.add_argument("--secret-env", metavar="VARIABLE", help="where a service client's secret is")
        parser.add_argument("--redirect-uri", action="append", default=[])
        parser.add_argument(
            "--post-logout-redirect-uri",
            action="append",
            default=[],
            help="where a browser client may send a person after signing out (default: its redirect URIs)",
        )
        parser.add_argument("--development", action="store_true", help="a client production refuses")

    def handle(self, *args: Any, client_id: str, **options: Any) -> None:
        fields: dict[str, Any] = {
            "name": options["name"] or client_id,
            "algorithm": Client.RS256_ALGORITHM,
            "development": options["development"],
            "skip_authorization": True,  # the system's own clients: no consent page
        }
        if options["service"]:
            variable = options["secret_env"]
            secret = os.environ.get(variable or "", "")
            if len(secret) < 32:
                raise CommandError(f"a service client needs a secret of 32 characters or more in ${variable}")
            if options["post_logout_redirect_uri"]:
                raise CommandError(
                    "a service client signs no one out: it takes no --post-logout-redirect-uri"
                )
            fields |= {
                "client_type": Client.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": Client.GRANT_CLIENT_CREDENTIALS,
                "client_secret": secret,
                "roles": sorted(set(options["role"])),
                "redirect_uris": "",
                "post_logout_redirect_uris": "",
            }
        else:
            if not options["redirect_uri"] or options["role"]:
                raise CommandError("a browser client needs --redirect-uri and takes no --role")
            after_sign_out = options["post_logout_redirect_uri"] or options["redirect_uri"]
            for uri in after_sign_out:
                parts = urlsplit(uri)
                if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                    raise CommandError(f"{uri} is not an absolute http:// or https:// URI without a fragment")
            fields |= {
                "client_type": Client.CLIENT_PUBLIC,
                "authorization_grant_type": Client.GRANT_AUTHORIZATION_CODE,
                "client_secret": "",
                "roles": [],
                "redirect_uris": " ".join(options["redirect_uri"]),
                "post_logout_redirect_uris": " ".join(after_sign_out),
            }
        refusals = refusals_of(Client(client_id=client_id, **fields))
        if refusals:
            raise CommandError(refusals[0])
        with transaction.atomic():
            client = Client.objects.select_for_update().filter(client_id=client_id).first()
            if client is None:
                client = Client(client_id=client_id)
            for name, value in fields.items():
                setattr(client, name, value)
            client.full_clean(exclude=["client_secret"])
            client.save()
        self.stdout.write(f"client {client_id} ready")

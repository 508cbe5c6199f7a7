"""`manage.py ensure_clients ARGUMENTS...`: `ensure_client` for several clients in one process, each
ARGUMENTS a JSON array of the arguments `ensure_client` takes, e.g.
`'["saga-orchestrator", "--service", "--role", "saga", "--secret-env", "SAGA_CLIENT_SECRET"]'`.

The clients are registered in the order given, each in its own transaction, and the first one refused
ends the command with its reason. A stack registers all of its clients this way: one Django start
instead of one per client.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Register several OAuth clients, or update them, each as `ensure_client` would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "clients", nargs="+", metavar="ARGUMENTS", help="a JSON array of ensure_client's arguments"
        )

    def handle(self, *args: Any, clients: list[str], **options: Any) -> None:
        for text in clients:
            try:
                arguments = json.loads(text)
            except ValueError as error:
                raise CommandError(f"not a JSON array of arguments: {text!r}") from error
            if not isinstance(arguments, list) or not all(isinstance(item, str) for item in arguments):
                raise CommandError(f"not a JSON array of arguments: {text!r}")
            call_command("ensure_client", *arguments, stdout=self.stdout, stderr=self.stderr)

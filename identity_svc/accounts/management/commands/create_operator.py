"""`manage.py create_operator EMAIL`: an operator, with the password read from standard input (one
line), so it never shows in a process list or a shell's history."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.errors import PasswordRefused, UserExists
from accounts.models import User
from accounts.services import user_create


class Command(BaseCommand):
    help = "Create an operator; the password is read from standard input."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        password = sys.stdin.readline().rstrip("\n")
        try:
            user = user_create(email=email, password=password, role=User.Role.OPERATOR)
        except UserExists:
            raise CommandError(f"a user with the address {email} already exists") from None
        except PasswordRefused as refused:
            raise CommandError(f"the password is refused: {' '.join(refused.details['reasons'])}") from None
        self.stdout.write(f"operator {user.email} created (subject {user.subject})")

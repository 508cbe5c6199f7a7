"""`manage.py purge_idempotency_records`: delete the idempotency records older than the retention.

Each service keeps a record of every keyed request so that a retry gets the first answer. A record
is needed only while its request may still be retried, so a record older than the retention
(IDEMPOTENCY_RETENTION_HOURS, seven days unless set) is deleted by this command, which an operator or a
scheduler runs regularly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chassis.conf import shared_settings
from chassis.idempotency.services import idempotency_records_purge
from chassis.settings import MIN_RETENTION_HOURS


class Command(BaseCommand):
    help = "Delete idempotency records older than the retention (IDEMPOTENCY_RETENTION_HOURS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-hours",
            type=int,
            default=None,
            help=f"the retention for this run (at least {MIN_RETENTION_HOURS}); default: the setting",
        )

    def handle(self, *args: Any, older_than_hours: int | None = None, **options: Any) -> None:
        hours = shared_settings.IDEMPOTENCY_RETENTION_HOURS if older_than_hours is None else older_than_hours
        if hours < MIN_RETENTION_HOURS:
            raise CommandError(f"--older-than-hours must be at least {MIN_RETENTION_HOURS}, not {hours}")
        deleted = idempotency_records_purge(older_than=timedelta(hours=hours))
        self.stdout.write(f"deleted {deleted} idempotency records older than {hours} h")

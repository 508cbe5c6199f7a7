"""Look up, store, claim and release idempotency keys.

`idempotent` answers most POSTs with two of these statements in the view's own transaction: one
look-up of the key, and, when the key is new, one INSERT of the completed record with the answer.
Views whose effect lives elsewhere claim the key first instead, in a short transaction of its own,
so that a concurrent duplicate sees it "in flight"; their answer is stored once they have one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from chassis.conf import shared_settings
from chassis.idempotency.models import IdempotencyRecord


@dataclass(frozen=True)
class Claim:
    """Outcome of claiming a key: `record` to run the request, or `existing` to answer from."""

    record: IdempotencyRecord | None = None
    existing: IdempotencyRecord | None = None


def request_fingerprint(body: bytes) -> str:
    """SHA-256 of the body; JSON bodies are canonicalised so key order and spacing do not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def idempotency_lookup(*, principal: str, scope: str, key: str) -> IdempotencyRecord | None:
    """The record of `key` for (`principal`, `scope`), if there is one: one SELECT."""
    return IdempotencyRecord.objects.filter(principal=principal, scope=scope, key=key).first()


def idempotency_store(
    *,
    principal: str,
    scope: str,
    key: str,
    fingerprint: str,
    status_code: int,
    content_type: str,
    body: bytes,
) -> IdempotencyRecord:
    """Store a finished request's answer under its key: one INSERT, in the transaction that holds the
    request's effect. Raises IntegrityError when a concurrent duplicate stored the key first."""
    return IdempotencyRecord.objects.create(
        principal=principal,
        scope=scope,
        key=key,
        fingerprint=fingerprint,
        state=IdempotencyRecord.State.COMPLETED,
        status_code=status_code,
        content_type=content_type,
        body=body,
    )


def idempotency_claim(*, principal: str, scope: str, key: str, fingerprint: str) -> Claim:
    """Claim `key` for (`principal`, `scope`) before running a request whose effect is not in this
    database: `record` is the new (or taken-over) claim; otherwise `existing` holds the answer."""
    for _ in range(3):
        try:
            with transaction.atomic():
                return Claim(
                    record=IdempotencyRecord.objects.create(
                        principal=principal, scope=scope, key=key, fingerprint=fingerprint
                    )
                )
        except IntegrityError:
            pass
        with transaction.atomic():
            existing = (
                IdempotencyRecord.objects.select_for_update()
                .filter(principal=principal, scope=scope, key=key)
                .first()
            )
            if existing is None:  # the other claim was given up between the two statements: claim again
                continue
            lease = timedelta(seconds=shared_settings.IDEMPOTENCY_LEASE_SECONDS)
            if (
                existing.fingerprint == fingerprint
                and existing.state == IdempotencyRecord.State.IN_FLIGHT
                and existing.updated_at <= timezone.now() - lease
            ):
                # The first attempt died without finishing: take over.
                existing.save(update_fields=["updated_at"])
                return Claim(record=existing)
            return Claim(existing=existing)
    raise IntegrityError(f"the Idempotency-Key {key!r} was claimed and given up three times over")


def idempotency_complete(
    *, record: IdempotencyRecord, status_code: int, content_type: str, body: bytes
) -> None:
    """Store the answer of a claimed key."""
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyRecord.State.COMPLETED,
        status_code=status_code,
        content_type=content_type,
        body=body,
        updated_at=timezone.now(),
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Forget an unfinished claim (the request failed with a 5xx), so a retry runs afresh."""
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyRecord.State.IN_FLIGHT).delete()


def idempotency_records_purge(*, older_than: timedelta, batch_size: int = 1000) -> int:
    """Delete the records last written more than `older_than` ago, `batch_size` at a time so that no
    transaction holds the database's write lock for long; how many were deleted.

    Last written, not created: a claim that a retry took over is written anew, so a request still in
    flight never loses its record (and with it its protection against a duplicate). A claim nobody
    has touched for the whole retention is one whose request died long ago."""
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        batch = list(
            IdempotencyRecord.objects.filter(updated_at__lt=cutoff).values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            return deleted
        count, _ = IdempotencyRecord.objects.filter(pk__in=batch).delete()
        deleted += count

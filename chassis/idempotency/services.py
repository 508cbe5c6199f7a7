"""Claim, complete and release idempotency keys. Each function is one short transaction, or a
savepoint of the caller's: `idempotent` runs the claim, the effect and the completion in one
transaction, except for views whose effect lives elsewhere, whose claim commits on its own so that a
concurrent duplicate sees "in flight".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from chassis.idempotency.models import IdempotencyRecord


@dataclass(frozen=True)
class Claim:
    """Outcome of claiming a key: `record` to run the request, or `replay`/`conflict`."""

    record: IdempotencyRecord | None = None
    replay: IdempotencyRecord | None = None
    conflict: str | None = None  # "body_mismatch" or "in_flight"


def request_fingerprint(body: bytes) -> str:
    """SHA-256 of the body; JSON bodies are canonicalised so key order and spacing do not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def idempotency_claim(*, principal: str, scope: str, key: str, fingerprint: str) -> Claim:
    """Claim `key` for (`principal`, `scope`): keys of different callers never meet."""
    try:
        with transaction.atomic():
            return Claim(record=IdempotencyRecord.objects.create(
                principal=principal, scope=scope, key=key, fingerprint=fingerprint
            ))
    except IntegrityError:
        pass
    with transaction.atomic():
        existing = IdempotencyRecord.objects.select_for_update().get(principal=principal, scope=scope, key=key)
        if existing.fingerprint != fingerprint:
            return Claim(conflict="body_mismatch")
        if existing.state == IdempotencyRecord.State.COMPLETED:
            return Claim(replay=existing)
        lease = timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)
        if existing.updated_at > timezone.now() - lease:
            return Claim(conflict="in_flight")
        # The first attempt died without finishing (its effect rolled back with it): take over.
        existing.save(update_fields=["updated_at"])
        return Claim(record=existing)


def idempotency_complete(*, record: IdempotencyRecord, status_code: int, content_type: str, body: bytes) -> None:
    """Store the answer. Call inside the transaction that holds the request's effect."""
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


def idempotency_records_purge(*, older_than: timedelta) -> int:
    """Delete records older than `older_than` (keep them at least 24 h)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted

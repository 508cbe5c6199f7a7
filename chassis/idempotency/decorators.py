"""`idempotent`: decorates an API view's `post` so the same Idempotency-Key never repeats its effect.

It runs inside DRF's dispatch, after authentication, permissions and throttles: a caller who may not
call the endpoint never claims a key. Keys are scoped per (principal, endpoint), so one caller's key
can never collide with another's, and a stored answer is only ever replayed to the caller it was
given to. Missing or malformed key → 400; same key and body → the stored answer byte for byte; same
key, other body → 422. A 5xx is never stored, nor a refusal (401, 403: nothing was done, and asking
again is refused again); a body cut short never gets this far (see RequestBodyMiddleware).

The key is claimed, the view run and its answer stored in one transaction, the view's own: a
duplicate sent meanwhile waits for it and is given the stored answer. For a view whose effect lives
elsewhere (a Temporal Update), `idempotent(atomic=False)` runs it with no transaction open, so
nothing holds the database while the other system answers: the key is claimed, and the answer
stored, in short transactions of their own, and a duplicate sent meanwhile gets 409. A process that
dies between such an effect and the store leaves the claim to lapse (IDEMPOTENCY_LEASE_SECONDS), and
the retry asks again: such views must be idempotent in the system that holds their effect.
"""

from __future__ import annotations

import re
from functools import partial, wraps

from django.db import transaction
from django.http import HttpResponse

from chassis.errors import error_response
from chassis.idempotency.services import (
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
)

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_VALID_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")


_NEVER_STORED = frozenset({401, 403})
# The refusals of a key (code, message), also shown as examples in the OpenAPI schema.
KEY_REUSED = ("idempotency_key_reused", f"This {HEADER} was used with a different request body.")
IN_FLIGHT = ("idempotency_in_flight", f"A request with this {HEADER} is still being processed.")


class _DoNotStore(Exception):
    """Raised inside the transaction to roll back a 5xx answer (or a refusal) with its effect."""

    def __init__(self, response) -> None:
        self.response = response


def _replay(record) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type)
    response[REPLAY_HEADER] = "true"
    return response


def request_idempotency_key(request) -> str:
    """The Idempotency-Key an `idempotent` view is running under, for services that record it."""
    return request.headers[HEADER]


def idempotent(post=None, *, atomic: bool = True):
    """Decorate the `post(self, request, ...)` method of an APIView whose POST must be idempotent:
    `@idempotent`, or `@idempotent(atomic=False)` when its effect is not in this database."""
    if post is None:
        return partial(idempotent, atomic=atomic)

    @wraps(post)
    def wrapped(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return error_response(400, "idempotency_key_missing", f"The {HEADER} header is required.")
        if not _VALID_KEY.match(key):
            return error_response(
                400, "idempotency_key_invalid", f"{HEADER} must be 1-255 printable ASCII characters."
            )
        claim = partial(
            idempotency_claim,
            principal=request.user.key,
            scope=f"POST {request.path}",
            key=key,
            fingerprint=request_fingerprint(request.body),
        )
        answer = partial(_answer, post, view, request, *args, **kwargs)
        if atomic:
            try:
                # One transaction: the claim, the effect and the stored answer commit together or not
                # at all. A concurrent duplicate waits for it, then gets the stored answer.
                with transaction.atomic():
                    return _claimed(claim(), answer)
            except _DoNotStore as failed:
                return failed.response
        claimed = claim()  # committed on its own: a duplicate meanwhile is told the key is in flight
        try:
            return _claimed(claimed, answer)
        except _DoNotStore as failed:
            idempotency_release(record=claimed.record)
            return failed.response
        except BaseException:
            if claimed.record is not None:
                idempotency_release(record=claimed.record)
            raise

    wrapped.idempotent = True  # for the OpenAPI schema: this POST takes an Idempotency-Key
    return wrapped


def _answer(post, view, request, *args, **kwargs):
    """The view's rendered answer; a domain error is an answer too, stored like any other."""
    try:
        response = post(view, request, *args, **kwargs)
    except Exception as exc:
        response = view.handle_exception(exc)
    response = view.finalize_response(request, response, *args, **kwargs)
    response.render()
    return response


def _claimed(claim, answer) -> HttpResponse:
    """Answer a claimed key: replay, refuse, or run the view and store what it answered."""
    if claim.replay is not None:
        return _replay(claim.replay)
    if claim.conflict == "body_mismatch":
        return error_response(422, *KEY_REUSED)
    if claim.conflict == "in_flight":
        return error_response(409, *IN_FLIGHT)
    response = answer()
    if response.status_code >= 500 or response.status_code in _NEVER_STORED:
        raise _DoNotStore(response)
    idempotency_complete(
        record=claim.record,
        status_code=response.status_code,
        content_type=response.get("Content-Type", "application/json"),
        body=response.content,
    )
    return response

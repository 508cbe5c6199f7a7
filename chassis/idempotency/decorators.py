"""`idempotent`: decorates an API view's `post` so the same Idempotency-Key never repeats its effect.

It runs inside DRF's dispatch, after authentication, permissions and throttles: a caller who may not
call the endpoint never stores a key. Keys are scoped per (principal, endpoint), so one caller's key
can never collide with another's, and a stored answer is only ever replayed to the caller it was
given to. Missing or malformed key → 400; same key and body → the stored answer byte for byte; same
key, other body → 422. A 5xx is never stored, nor a refusal (401, 403: nothing was done, and asking
again is refused again); a body cut short never gets this far (see RequestBodyMiddleware).

Most views run in one transaction with two statements of their key's: a SELECT of the key's record
(found: replay it, or 422), then the view, then one INSERT of the finished record with its answer,
so the effect and the answer commit together or not at all. A concurrent duplicate never repeats
the effect. On SQLite, whose IMMEDIATE transactions let one writer in at a time, it waits for the
first request to commit, then finds the record and replays it. On PostgreSQL it may run the view
too (waiting on the same row locks as the first), but its INSERT then meets the unique key: its
whole transaction, effect included, rolls back, and it answers from the stored record.

For a view whose effect lives elsewhere (a Temporal Update), `idempotent(atomic=False)` runs it with
no transaction open, so nothing holds the database while the other system answers: the key is
claimed, and the answer stored, in short transactions of their own, and a duplicate sent meanwhile
gets 409. A process that dies between such an effect and the store leaves the claim to lapse
(IDEMPOTENCY_LEASE_SECONDS), and the retry asks again: such views must be idempotent in the system
that holds their effect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial, wraps
from typing import Concatenate, ParamSpec, TypedDict, TypeVar, cast, overload

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chassis.auth import Principal
from chassis.errors import error_response
from chassis.idempotency.models import IdempotencyRecord
from chassis.idempotency.services import (
    idempotency_claim,
    idempotency_complete,
    idempotency_lookup,
    idempotency_release,
    idempotency_store,
    request_fingerprint,
)
from saga_contract import IDEMPOTENCY_IN_FLIGHT

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
KEY_PATTERN = rf"^[\x21-\x7e](?:[\x20-\x7e]{{0,{KEY_MAX_LENGTH - 2}}}[\x21-\x7e])?$"
"""What a key may be, here and in the OpenAPI schema: 1-255 printable ASCII characters, neither
starting nor ending with a space (a server strips those from a header's value, so such a key could
never arrive as it was sent)."""
KEY_RULE = f"1-{KEY_MAX_LENGTH} printable ASCII characters, neither starting nor ending with a space"
_VALID_KEY = re.compile(KEY_PATTERN)


_NEVER_STORED = frozenset({401, 403})
# The refusals of a key (code, message), also shown as examples in the OpenAPI schema.
KEY_REUSED = ("idempotency_key_reused", f"This {HEADER} was used with a different request body.")
IN_FLIGHT = (IDEMPOTENCY_IN_FLIGHT, f"A request with this {HEADER} is still being processed.")

_View = TypeVar("_View", bound=APIView)
_Params = ParamSpec("_Params")
_Post = Callable[Concatenate[_View, Request, _Params], Response]
"""The `post(self, request, ...)` method of an API view, as written."""
_IdempotentPost = Callable[Concatenate[_View, Request, _Params], HttpResponse]
"""The same method, decorated: a replay or a refusal of its key is a plain HttpResponse."""


class _Keyed(TypedDict):
    """Whose key it is, and where: what the record of a key is looked up by."""

    principal: str
    scope: str
    key: str


class _StoredAnswer(TypedDict):
    status_code: int
    content_type: str
    body: bytes


class _DoNotStore(Exception):
    """Raised inside the transaction to roll back a 5xx answer (or a refusal) with its effect."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


class _StoredMeanwhile(Exception):
    """Raised inside the transaction when a concurrent duplicate stored the key first, to roll back
    this request's effect before answering from the duplicate's record."""


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type)
    response[REPLAY_HEADER] = "true"
    return response


def request_idempotency_key(request: Request) -> str:
    """The Idempotency-Key an `idempotent` view is running under, for services that record it."""
    return request.headers[HEADER]


@overload
def idempotent(post: _Post[_View, _Params], *, atomic: bool = True) -> _IdempotentPost[_View, _Params]: ...


@overload
def idempotent(
    post: None = None, *, atomic: bool = True
) -> Callable[[_Post[_View, _Params]], _IdempotentPost[_View, _Params]]: ...


def idempotent(
    post: _Post[_View, _Params] | None = None, *, atomic: bool = True
) -> _IdempotentPost[_View, _Params] | Callable[[_Post[_View, _Params]], _IdempotentPost[_View, _Params]]:
    """Decorate the `post(self, request, ...)` method of an APIView whose POST must be idempotent:
    `@idempotent`, or `@idempotent(atomic=False)` when its effect is not in this database."""
    if post is None:

        def decorate(post: _Post[_View, _Params]) -> _IdempotentPost[_View, _Params]:
            return idempotent(post, atomic=atomic)

        return decorate

    @wraps(post)
    def wrapped(
        view: _View, request: Request, /, *args: _Params.args, **kwargs: _Params.kwargs
    ) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None:
            return error_response(400, "idempotency_key_missing", f"The {HEADER} header is required.")
        if not _VALID_KEY.fullmatch(key):
            return error_response(400, "idempotency_key_invalid", f"{HEADER} must be {KEY_RULE}.")
        # Only a view's permitted callers get here, and JwtAuthentication makes each of them a Principal.
        principal = cast(Principal, request.user)
        keyed: _Keyed = {"principal": principal.key, "scope": f"POST {request.path}", "key": key}
        answer = partial(_answer, post, view, request, *args, **kwargs)
        run = _run_in_one_transaction if atomic else _run_claimed
        return run(keyed, request_fingerprint(request.body), answer)

    wrapped.idempotent = True  # type: ignore[attr-defined]  # the OpenAPI schema reads this mark
    return wrapped


def _run_in_one_transaction(
    keyed: _Keyed, fingerprint: str, answer: Callable[[], HttpResponse]
) -> HttpResponse:
    """Look the key up, run the view and store its answer, all in one transaction."""
    try:
        with transaction.atomic():
            record = idempotency_lookup(**keyed)
            if record is not None:
                return _settled(record, fingerprint)
            response = _storable(answer())
            try:
                idempotency_store(**keyed, fingerprint=fingerprint, **_stored_answer(response))
            except IntegrityError as error:
                raise _StoredMeanwhile from error
            return response
    except _DoNotStore as failed:
        return failed.response
    except _StoredMeanwhile:
        record = idempotency_lookup(**keyed)
        if record is None:  # the other request's record is gone again: the caller may simply retry
            return error_response(409, *IN_FLIGHT)
        return _settled(record, fingerprint)


def _run_claimed(keyed: _Keyed, fingerprint: str, answer: Callable[[], HttpResponse]) -> HttpResponse:
    """Claim the key (committed on its own, so a duplicate meanwhile is told it is in flight), run
    the view with no transaction open, then store its answer or give the claim up."""
    claim = idempotency_claim(**keyed, fingerprint=fingerprint)
    if claim.record is None:
        assert claim.existing is not None, "a claim holds either the new record or the existing one"
        return _settled(claim.existing, fingerprint)
    try:
        response = _storable(answer())
        idempotency_complete(record=claim.record, **_stored_answer(response))
    except _DoNotStore as failed:
        idempotency_release(record=claim.record)
        return failed.response
    except BaseException:
        idempotency_release(record=claim.record)
        raise
    return response


def _answer(
    post: _Post[_View, _Params],
    view: _View,
    request: Request,
    /,
    *args: _Params.args,
    **kwargs: _Params.kwargs,
) -> Response:
    """The view's rendered answer; a domain error is an answer too, stored like any other."""
    try:
        response = post(view, request, *args, **kwargs)
    except Exception as exc:
        response = view.handle_exception(exc)
    response = view.finalize_response(request, response, *args, **kwargs)
    response.render()
    return response


def _storable(response: HttpResponse) -> HttpResponse:
    """`response`, unless it is a 5xx or a refusal of the caller, which are never stored."""
    if response.status_code >= 500 or response.status_code in _NEVER_STORED:
        raise _DoNotStore(response)
    return response


def _stored_answer(response: HttpResponse) -> _StoredAnswer:
    return {
        "status_code": response.status_code,
        "content_type": response.get("Content-Type", "application/json"),
        "body": response.content,
    }


def _settled(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    """The answer to a key that has a record: its stored answer, or a refusal."""
    if record.fingerprint != fingerprint:
        return error_response(422, *KEY_REUSED)
    if record.state == IdempotencyRecord.State.COMPLETED:
        return _replay(record)
    return error_response(409, *IN_FLIGHT)

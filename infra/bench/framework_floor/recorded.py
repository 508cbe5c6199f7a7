"""The one transaction every floor command runs: read the idempotency record of its key, run the
product's service function, insert the completed record with the rendered answer.

These are the statements the product's idempotency decorator runs around the same service
function (its own look-up and store), without the decorator: no fingerprint check, no stored
refusals, no replay header. A
domain error rolls the transaction back and is answered by DRF (the bench never sends one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.db import transaction
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from chassis.idempotency.services import idempotency_lookup, idempotency_store

JSON = "application/json"
SAGA = "saga:saga-orchestrator"
"""The principal of the saga's commands: the floor authenticates no one, so every command is the saga's."""


def recorded_command(
    request: Request, *, principal: str, effect: Callable[[str], tuple[Mapping[str, object], int]]
) -> HttpResponse:
    """Answer `request` with what `effect(key)` returns (the answer's data and status), stored under
    the request's Idempotency-Key `key`; the stored answer when that key was seen before."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return HttpResponse(b'{"code": "idempotency_key_missing"}', status=400, content_type=JSON)
    scope = f"POST {request.path}"
    with transaction.atomic():
        stored = idempotency_lookup(principal=principal, scope=scope, key=key)
        if stored is not None:
            return HttpResponse(
                bytes(stored.body), status=stored.status_code, content_type=stored.content_type
            )
        data, status = effect(key)
        body = JSONRenderer().render(data)
        idempotency_store(
            principal=principal,
            scope=scope,
            key=key,
            fingerprint="",
            status_code=status,
            content_type=JSON,
            body=body,
        )
    return HttpResponse(body, status=status, content_type=JSON)

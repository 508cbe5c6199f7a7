"""The checks schemathesis runs beside its own in the contract tests (SCHEMATHESIS_HOOKS names this
module): every refusal is in the one error shape, and what a customer may touch of its own another
customer may not. Imported by the schemathesis process only, never by the tests' own.

The other customer's token comes in CONTRACT_OTHER_TOKEN; CONTRACT_CALLER says whose token the run
sends, so that only a customer's answers are replayed as the other customer.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import requests
import schemathesis
from schemathesis import Case, CheckContext, Response

from tests.support.error_shape import error_shape_problem

REFUSALS_OF_ANOTHERS_OBJECT = {404}
"""Another customer's order, account or notification is answered as if it did not exist."""


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


@schemathesis.check
def refusal_in_the_error_shape(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx and 5xx answer is `{code, message, details}`, documented or not (405, 406, 415...)."""
    if response.status_code < 400:
        return None
    problem = error_shape_problem(response.status_code, _json(response.content))
    if problem is not None:
        raise AssertionError(problem)
    return True


@schemathesis.check
def another_customer_gets_nothing(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A customer's successful request on an object of its own (a path with an id: its order, its
    order's saga or cancel, its account, its notification) is sent again as another customer, with
    a new Idempotency-Key: it must be refused as if the object did not exist, in the error shape,
    and so before it could have any effect."""
    other = os.environ.get("CONTRACT_OTHER_TOKEN")
    if (
        other is None
        or os.environ.get("CONTRACT_CALLER") != "customer"
        or not case.path_parameters
        or case.method.upper() != case.operation.method.upper()  # an OPTIONS probe reads no object
        or not 200 <= response.status_code < 300
    ):
        return None
    sent = response.request
    headers = {name: value for name, value in sent.headers.items() if name.lower() != "authorization"}
    headers["Authorization"] = f"Bearer {other}"
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = f"contract-{uuid.uuid4()}"
    replay = requests.request(
        sent.method or "GET", sent.url or "", headers=headers, data=sent.body, timeout=20
    )
    if replay.status_code not in REFUSALS_OF_ANOTHERS_OBJECT:
        raise AssertionError(
            f"{sent.method} {sent.url} answered {response.status_code} to its customer and "
            f"{replay.status_code} to another customer: {replay.text[:300]}"
        )
    problem = error_shape_problem(replay.status_code, _json(replay.content))
    if problem is not None:
        raise AssertionError(problem)
    return True

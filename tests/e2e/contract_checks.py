"""The checks schemathesis runs beside its own in the contract tests (SCHEMATHESIS_HOOKS names this
module): every refusal is in the one error shape, and what a customer may touch of its own another
customer may not; and the data hook that lets the saga's commands succeed. Imported by the
schemathesis process only, never by the tests' own.

The other customer's token comes in CONTRACT_OTHER_TOKEN; CONTRACT_CALLER says whose token the run
sends, so that only a customer's answers are replayed as the other customer. CONTRACT_SKUS and
CONTRACT_PAYER name the stock (comma-separated SKUs) and the money the test seeded.
"""

from __future__ import annotations

import json
import os
import re
import uuid
import zlib
from typing import Any

import requests
import schemathesis
from schemathesis import Case, CheckContext, HookContext, Response

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


SEEDED_SHARE = 4
"""Of every SEEDED_SHARE generated saga commands, SEEDED_SHARE - 1 name the seeded stock or money."""
_VALID_SKU = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")
_VALID_CUSTOMER = re.compile(r"\A[A-Za-z0-9._@-]{1,64}\Z")
_VALID_CURRENCY = re.compile(r"\A[A-Z]{3}\Z")
_MAX_CENTS = 10**12


@schemathesis.hook
def map_body(ctx: HookContext, body: Any) -> Any:
    """An operator's order without a customer, or a reservation or a payment authorization of
    generated data, which names a SKU or a customer that does not exist, is refused and leaves the
    stateful phase nothing to follow. Most operators' orders are given the run's customer, and most
    reservations and authorizations are pointed at the stock (CONTRACT_SKUS) and the money
    (CONTRACT_PAYER) the test seeded, so that they succeed and their links (read and cancel, commit
    and release, capture and void) are walked. Only a value the schema allows is replaced, and by
    another it allows: a request meant to break the schema still breaks it. The rest keep what was
    generated, and meet the refusals. Which ones is decided by the body's own content, so a run's
    seed still decides everything."""
    operation = ctx.operation
    if operation is None or not isinstance(body, dict) or operation.method.upper() != "POST":
        return body
    if zlib.crc32(json.dumps(body, sort_keys=True, default=str).encode()) % SEEDED_SHARE == 0:
        return body
    if operation.path == "/api/v1/orders" and os.environ.get("CONTRACT_CALLER") == "operator":
        # An operator places an order for the customer its body names; without one it is refused.
        return body if "customer_id" in body else {**body, "customer_id": "contract-customer"}
    skus = [sku for sku in os.environ.get("CONTRACT_SKUS", "").split(",") if sku]
    payer = os.environ.get("CONTRACT_PAYER")
    if operation.path == "/internal/v1/reservations" and skus and isinstance(body.get("items"), list):
        items = [  # one seeded SKU per line, as a reservation names each SKU once
            {**item, "sku": skus[index]}
            if index < len(skus) and isinstance(item, dict) and _valid(_VALID_SKU, item.get("sku"))
            else item
            for index, item in enumerate(body["items"])
        ]
        return {**body, "items": items}
    if operation.path == "/internal/v1/payments/authorize" and payer:
        seeded = dict(body)
        if _valid(_VALID_CUSTOMER, body.get("customer_id")):
            seeded["customer_id"] = payer
        amount = body.get("amount_cents")
        if isinstance(amount, int) and not isinstance(amount, bool) and 1 <= amount <= _MAX_CENTS:
            seeded["amount_cents"] = amount % 10_000 + 1  # many authorizations hold the payer's money at once
        if _valid(_VALID_CURRENCY, body.get("currency")):
            seeded["currency"] = "USD"
        return seeded
    return body


def _valid(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.match(value) is not None

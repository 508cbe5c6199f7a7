"""A coverage-guided fuzzer (atheris) of what the chassis parses at a service's edge, before any
business rule: the JSON body and the strict serializers that read it, the Authorization header and
its bearer token, the Idempotency-Key header, a customer id, and a page's query.

Run by tests/security/test_edge_fuzzing.py as `python edge_fuzzer.py <corpus-dir> -max_total_time=N
-runs=M`, from a service's folder so that its settings load. Each input either parses or is refused
with the one error shape and a 4xx status; anything else (an exception of another kind, a 5xx, a
refusal in another shape, a key accepted against its rule) is a crash that libFuzzer reports with
the input that caused it.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

# Coverage is collected from the parsing this file fuzzes, not from Django's own machinery, whose
# instrumentation would cost most of the time given to the fuzzer.
with atheris.instrument_imports(include=["chassis", "saga_contract", "rest_framework", "jwt"]):
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from django.conf import settings
    from django.http import QueryDict
    from rest_framework import exceptions, serializers
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from chassis.auth import JwtAuthentication, Principal, token_verifier
    from chassis.errors import DomainError, exception_handler
    from chassis.fields import (
        CurrencyField,
        StrictIntegerField,
        StrictSerializer,
        customer_id_field,
        sku_field,
        unique_skus,
    )
    from chassis.idempotency.decorators import KEY_MAX_LENGTH, KEY_PATTERN
    from chassis.pagination import PageQuerySerializer
    from chassis.tokens import LocalKeys
    from saga_contract import CUSTOMER_ID_PATTERN
    from tests.support.error_shape import error_shape_problem

REFUSALS = {400, 401, 403, 404, 409, 413, 415, 422, 429}
_KEY = re.compile(KEY_PATTERN)
_CUSTOMER_ID = re.compile(rf"{CUSTOMER_ID_PATTERN}")


class _Item(StrictSerializer):
    sku = sku_field()
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)


class _Body(StrictSerializer):
    """A body shaped like the services' commands: nested strict objects, a bounded list, money."""

    customer_id = customer_id_field(required=False)
    items: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=_Item(), allow_empty=False, max_length=50
    )
    total_cents = StrictIntegerField(min_value=0, max_value=10**12, required=False)
    currency = CurrencyField()

    def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return unique_skus(items)


def refused(exc: Exception) -> None:
    """`exc`, answered by the services' exception handler, is a 4xx in the error shape."""
    response = exception_handler(exc, {})
    problem = error_shape_problem(response.status_code, response.data)
    assert problem is None, problem
    assert response.status_code in REFUSALS, (response.status_code, response.data)


def parse_body(raw: bytes) -> None:
    try:
        data = JSONParser().parse(io.BytesIO(raw), "application/json", {})
    except (exceptions.ParseError, RecursionError) as exc:
        refused(exc)
        return
    body = _Body(data=data)
    try:
        valid = body.is_valid()
    except DomainError as exc:  # a rule of the body's meaning (one line per SKU)
        refused(exc)
        return
    if not valid:
        refused(exceptions.ValidationError(body.errors))


def authenticate(header: str) -> None:
    request = Request(APIRequestFactory().get("/api/v1/orders", HTTP_AUTHORIZATION=header))
    try:
        principal = JwtAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed as exc:
        refused(exc)
        return
    assert principal is not None, header
    assert isinstance(principal[0], Principal), principal


def check_key(key: str) -> None:
    """The pattern the schema publishes says exactly what the rule says."""
    by_rule = (
        1 <= len(key) <= KEY_MAX_LENGTH
        and all(" " <= character <= "~" for character in key)
        and key[0] != " "
        and key[-1] != " "
    )
    assert bool(_KEY.fullmatch(key)) == by_rule, repr(key)


def check_customer_id(value: str) -> None:
    try:
        accepted = customer_id_field().run_validation(value)
    except serializers.ValidationError as exc:
        refused(exc)
        return
    assert accepted == value, repr(value)
    assert _CUSTOMER_ID.fullmatch(value), repr(value)


def check_page(query: str) -> None:
    page = PageQuerySerializer(data=QueryDict(query))
    if not page.is_valid():
        refused(exceptions.ValidationError(page.errors))
        return
    size = page.validated_data.get("page_size")
    assert size is None or 1 <= size <= 500, query


TARGETS = (parse_body, authenticate, check_key, check_customer_id, check_page)
"""An input's first byte picks what its other bytes are fed to."""


def one_input(data: bytes) -> None:
    if not data:
        return
    target, rest = TARGETS[data[0] % len(TARGETS)], data[1:]
    if target is parse_body:
        parse_body(rest)
    elif target in (authenticate, check_key):
        target(rest.decode("latin-1"))  # a header's bytes, as the WSGI server hands them over
    else:
        target(rest.decode("utf-8", "replace"))


def seed(corpus: Path, token: str) -> None:
    """Start an empty corpus from inputs that pass, so that the fuzzer mutates its way from them."""
    if any(corpus.iterdir()):
        return
    seeds = [
        (
            parse_body,
            b'{"customer_id": "alice", "items": [{"sku": "BEANS-1KG", "quantity": 2}], "currency": "USD"}',
        ),
        (authenticate, f"Bearer {token}".encode()),
        (check_key, b"order-5b3f1c2e-8a4d-4e6f-9b1a-2c3d4e5f6a7b:capture_payment"),
        (check_customer_id, b"alice@example.com"),
        (check_page, b"page=2&page_size=50"),
    ]
    for number, (target, body) in enumerate(seeds):
        (corpus / f"seed-{number}").write_bytes(bytes([TARGETS.index(target)]) + body)


def main() -> None:
    keys = LocalKeys.ensure(Path(tempfile.mkdtemp(prefix="edge-fuzzer-keys-")))
    settings.JWT_JWKS_URL = None
    settings.JWT_JWKS_FILE = str(keys.jwks_file)
    token_verifier.cache_clear()
    token = keys.customer_token("alice")
    authenticate(f"Bearer {token}")  # the key is trusted before the fuzzer starts
    corpus = next((Path(arg) for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if corpus is not None and corpus.is_dir():
        seed(corpus, token)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

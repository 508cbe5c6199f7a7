"""Test helpers for the statement counts of idempotent commands (never imported by running code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django.http import HttpResponse

if TYPE_CHECKING:
    from pytest_django import DjangoAssertNumQueries

_Answer = TypeVar("_Answer", bound=HttpResponse)

REPLAY_STATEMENTS = 3
"""A replay runs BEGIN, the SELECT that finds the key's record, and COMMIT."""


def assert_statements(
    call: Callable[[], _Answer], statements: int, assert_num_queries: DjangoAssertNumQueries
) -> _Answer:
    """`call()` (a POST under a fixed Idempotency-Key) runs exactly `statements` statements; called
    again, it is a replay of REPLAY_STATEMENTS with the same status and bytes. Returns the first answer.
    `assert_num_queries` is pytest-django's `django_assert_num_queries`."""
    with assert_num_queries(statements):
        first = call()
    with assert_num_queries(REPLAY_STATEMENTS):
        again = call()
    assert first.status_code < 300, first.content
    assert again.status_code == first.status_code, again.content
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    return first

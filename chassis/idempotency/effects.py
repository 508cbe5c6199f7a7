"""How a service's effect joins the transaction of the idempotent request that runs it, in the
fewest statements: no savepoint where none is needed, no lock where the database gives it already,
no second read of rows already in hand. Nothing here knows a service's models or rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from django.db import connection, models, transaction

from chassis.errors import DomainError


@contextmanager
def effect_transaction() -> Iterator[None]:
    """One transaction for a service's effect when it is called alone; inside the idempotent
    request's transaction, part of that one without a savepoint (which would cost two statements).

    A refusal (a DomainError) leaves the block the way a normal end does and is raised after it, so
    the request's transaction stays usable and stores the refusal as its answer. A service using
    this therefore raises its refusals before its first write. Any other exception rolls back the
    whole transaction, the request's included.
    """
    refusal = None
    with transaction.atomic(savepoint=False):
        try:
            yield
        except DomainError as error:
            refusal = error
    if refusal is not None:
        raise refusal


def concurrent_writers() -> bool:
    """Whether another transaction can commit between this one's read and its write. PostgreSQL
    runs writers side by side (row locks order them); SQLite runs one writer at a time (IMMEDIATE
    transactions wait for the lock, a deferred one that lost the race fails), and ignores FOR UPDATE."""
    return connection.vendor != "sqlite"


def insert_savepoint() -> AbstractContextManager[None]:
    """Guards an INSERT whose unique key a concurrent transaction may have taken since this one read
    it was free, so that the caller can catch the IntegrityError and go on: a savepoint where writers
    run side by side, nothing on SQLite, where no such row can appear."""
    return transaction.atomic() if concurrent_writers() else nullcontext()


def remember_related(instance: models.Model, name: str, objects: Iterable[models.Model]) -> None:
    """Hand `instance` the objects of its reverse relation `name` as if they had been prefetched,
    so that serializing them reads nothing again."""
    related = getattr(instance, name).all()
    related._result_cache = list(objects)
    related._prefetch_done = True
    prefetched = {**getattr(instance, "_prefetched_objects_cache", {}), name: related}
    instance._prefetched_objects_cache = prefetched  # type: ignore[attr-defined]  # Django's own cache, not in the stubs

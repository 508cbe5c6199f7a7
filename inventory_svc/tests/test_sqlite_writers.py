"""The chassis's SQLite backend queues writers on a kernel lock (chassis.db.sqlite3): a second
transaction waits for the first to end, and starts the moment it does, without SQLite's busy handler
(these connections have none: `timeout` 0 would fail a writer that met SQLite's lock at once)."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from chassis.db.sqlite3.base import DatabaseWrapper


def wrapper(path: Path) -> DatabaseWrapper:
    settings: dict[str, Any] = {
        **connection.settings_dict,
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 0},
    }
    database = DatabaseWrapper(settings)
    database.ensure_connection()
    return database


@pytest.fixture(autouse=True)
def unblocked(django_db_blocker: Any) -> Iterator[None]:
    """These connections open a file of the test's own, not the test database pytest-django guards."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "writers.sqlite3"
    setup = wrapper(path)
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE entries (writer TEXT)")
    setup.close()
    return path


def write_in_thread(path: Path, name: str, began: threading.Event, done: threading.Event) -> threading.Thread:
    def write() -> None:
        second = wrapper(path)
        second._start_transaction_under_autocommit()
        began.set()
        with second.cursor() as cursor:
            cursor.execute("INSERT INTO entries VALUES (%s)", [name])
        second.commit()
        second.close()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_a_second_writer_waits_for_the_first_and_starts_as_soon_as_it_ends(database: Path, end: str) -> None:
    first = wrapper(database)
    first._start_transaction_under_autocommit()
    with first.cursor() as cursor:
        cursor.execute("INSERT INTO entries VALUES ('first')")

    began, done = threading.Event(), threading.Event()
    thread = write_in_thread(database, "second", began, done)
    assert not began.wait(0.3), "the second writer began while the first held the database"

    ended = time.monotonic()
    getattr(first, end)()
    assert began.wait(5), f"the second writer never began after the first's {end}"
    assert time.monotonic() - ended < 0.5
    assert done.wait(5)
    thread.join()

    reader = wrapper(database)
    with reader.cursor() as cursor:
        cursor.execute("SELECT writer FROM entries ORDER BY rowid")
        written = [row[0] for row in cursor.fetchall()]
    reader.close()
    assert written == (["first", "second"] if end == "commit" else ["second"])


def test_a_writer_that_cannot_open_the_lock_file_writes_without_queueing(database: Path) -> None:
    (database.parent / f"{database.name}.writers").mkdir()  # where the lock file would be: not a file
    writer = wrapper(database)
    writer._start_transaction_under_autocommit()
    with writer.cursor() as cursor:
        cursor.execute("INSERT INTO entries VALUES ('alone')")
    writer.commit()
    with writer.cursor() as cursor:
        cursor.execute("SELECT writer FROM entries")
        assert [row[0] for row in cursor.fetchall()] == ["alone"]
    writer.close()

"""A database that fails a request answers 503 in the error shape, with a code that names the
failure the driver reported: storage full, read-only, or unavailable. Nothing is stored, so the same
request with the same Idempotency-Key runs afresh once the database is back."""

import json
import sqlite3

import psycopg
import pytest
from django.db import OperationalError
from django.http import HttpResponse
from orders.models import Order, OutboxRecord

from chassis.middleware import RequestContextMiddleware

pytestmark = pytest.mark.django_db(transaction=True)


def sqlite_error(name: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("as SQLite reports it")
    error.sqlite_errorname = name  # what sqlite3 sets from the result code
    return error


@pytest.mark.parametrize(
    ("cause", "code"),
    [
        (sqlite_error("SQLITE_FULL"), "storage_full"),
        (sqlite_error("SQLITE_READONLY"), "database_read_only"),
        (sqlite_error("SQLITE_READONLY_DBMOVED"), "database_read_only"),
        (sqlite_error("SQLITE_IOERR_WRITE"), "database_unavailable"),
        (psycopg.errors.DiskFull("could not extend file"), "storage_full"),
        (psycopg.errors.ReadOnlySqlTransaction("read-only transaction"), "database_read_only"),
        (psycopg.errors.AdminShutdown("terminating connection"), "database_unavailable"),
        (psycopg.OperationalError("connection refused"), "database_unavailable"),
    ],
)
def test_a_failing_database_answers_503_with_the_failure_named(customer, monkeypatch, cause, code):
    def failing(*args, **kwargs):
        raise OperationalError(str(cause)) from cause

    monkeypatch.setattr(OutboxRecord.objects, "create", failing)
    body = {"items": [{"sku": "MUG", "quantity": 1}]}
    r = customer("alice").post("/api/v1/orders", body, HTTP_IDEMPOTENCY_KEY="k-1")

    assert r.status_code == 503
    assert r.json()["code"] == code
    assert set(r.json()) == {"code", "message", "details"}
    assert not Order.objects.exists()

    monkeypatch.undo()
    again = customer("alice").post("/api/v1/orders", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 202


def test_a_view_outside_drf_whose_database_fails_answers_503_too(rf):
    middleware = RequestContextMiddleware(lambda request: HttpResponse())
    cause = sqlite_error("SQLITE_FULL")
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as error:
        response = middleware.process_exception(rf.get("/admin/"), error)

    assert response is not None
    assert response.status_code == 503
    assert json.loads(response.content)["code"] == "storage_full"
    assert middleware.process_exception(rf.get("/admin/"), ValueError("not ours")) is None

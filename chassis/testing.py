"""Test helpers for the services' own test suites (never imported by running code)."""

from __future__ import annotations

import uuid

from rest_framework.test import APIClient


class ApiClient:
    """DRF's test client, with a fresh Idempotency-Key on every POST unless one is given.

    `key=""` sends no key at all; `raw=` sends bytes as they are.
    """

    def __init__(self) -> None:
        self.client = APIClient()

    def post(self, path: str, body=None, *, key: str | None = None, raw: bytes | None = None):
        headers = {} if key == "" else {"Idempotency-Key": key or str(uuid.uuid4())}
        if raw is not None:
            return self.client.generic("POST", path, raw, content_type="application/json", headers=headers)
        return self.client.post(path, body if body is not None else {}, format="json", headers=headers)

    def get(self, path: str, params: dict | None = None):
        return self.client.get(path, params or {})

    def put(self, path: str, body=None):
        return self.client.put(path, body if body is not None else {}, format="json")

    def delete(self, path: str):
        return self.client.delete(path)


def migrate_to(targets: list[tuple[str, str]]):
    """Migrate the test database to `targets` and return the historical apps of that state
    (for tests of data migrations)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps

"""PostgreSQL under the local stack: given a server's URL (`sagactl up --postgres URL`, or
SAGA_POSTGRES_URL), each service gets a database of its own on it, as in production, created when
missing. Stacks of their own (tests, chaos runs, the bench) get databases of their own too, dropped
when they stop."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SERVICE_DATABASES = {"inventory_svc": "inventory", "payment_svc": "payment", "order_svc": "orders"}


def server_url(url: str) -> str:
    """The server part of a PostgreSQL URL (scheme, user, password, host, port); ValueError if it
    is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise ValueError(f"not a PostgreSQL server URL: {url!r} (expected postgres://user@host:5432)")
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def database_urls(url: str, prefix: str) -> dict[str, str]:
    """Each service's DATABASE_URL on the server of `url`: database `<prefix>_<service's name>`."""
    server = server_url(url)
    return {service: f"{server}/{prefix}_{name}" for service, name in SERVICE_DATABASES.items()}


def ensure_databases(urls: dict[str, str]) -> list[str]:
    """Create the databases `urls` name that do not exist yet; the names created."""
    created = []
    for name, connection in _databases(urls):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(_sql().SQL("CREATE DATABASE {}").format(_sql().Identifier(name)))
                created.append(name)
    return created


def drop_databases(urls: dict[str, str]) -> None:
    """Drop the databases `urls` name, sessions and all (the stack that used them has stopped)."""
    for name, connection in _databases(urls):
        with connection.cursor() as cursor:
            cursor.execute(_sql().SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_sql().Identifier(name)))


def _databases(urls: dict[str, str]):
    import psycopg

    for url in urls.values():
        parts = urlsplit(url)
        with psycopg.connect(f"{server_url(url)}/postgres", autocommit=True, connect_timeout=10) as connection:
            yield parts.path.lstrip("/"), connection


def _sql():
    from psycopg import sql

    return sql

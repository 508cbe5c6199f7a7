"""PostgreSQL under the local stack: given a server's URL (`sagactl up --postgres URL`, or
SAGA_POSTGRES_URL), each service gets a database of its own on it, as in production, created when
missing. Stacks of their own (tests, chaos runs, the bench) get databases of their own too, dropped
when they stop."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

SERVICE_DATABASES = {
    "inventory_svc": "inventory",
    "payment_svc": "payment",
    "order_svc": "orders",
    "notification_svc": "notification",
    "identity_svc": "identity",
}


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
    created: list[str] = []
    if not urls:
        return created
    with _server(urls) as connection:
        for name in _names(urls):
            if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                created.append(name)
    return created


def drop_databases(urls: dict[str, str]) -> None:
    """Drop the databases `urls` name, sessions and all (the stack that used them has stopped)."""
    if not urls:
        return
    with _server(urls) as connection:
        for name in _names(urls):
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _names(urls: dict[str, str]) -> list[str]:
    return [urlsplit(url).path.lstrip("/") for url in urls.values()]


def _server(urls: dict[str, str]) -> psycopg.Connection:
    """One connection to the server the URLs share (its maintenance database), outside transactions."""
    (server,) = {server_url(url) for url in urls.values()}
    return psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=10)

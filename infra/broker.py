"""RabbitMQ under the local stack: `sagactl up --rabbitmq URL` (or SAGA_RABBITMQ_URL) sends every
service's events there instead of the embedded filesystem transport. Stacks of their own (tests,
chaos runs, the bench) get a virtual host of their own on that broker, made with `rabbitmqctl` where
it is installed on this machine and deleted when they stop, so their queues never meet another
stack's; where it is not, they use the URL's own virtual host."""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
from urllib.parse import quote, unquote, urlsplit, urlunsplit

log = logging.getLogger("infra.stack")

DEFAULT_VHOST = "/"


def broker_address(url: str) -> tuple[str, int]:
    """The host and port an AMQP URL points at (5672 unless it says otherwise)."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5672


def broker_reachable(url: str, timeout: float = 2.0) -> bool:
    """Whether something accepts TCP connections where `url` points (an AMQP URL)."""
    try:
        with socket.create_connection(broker_address(url), timeout=timeout):
            return True
    except OSError:
        return False


def vhost_of(url: str) -> str:
    path = urlsplit(url).path
    return unquote(path[1:]) if len(path) > 1 else DEFAULT_VHOST


def with_vhost(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, ""))


def with_address(url: str, host: str, port: int) -> str:
    """`url` pointing at `host`:`port` instead (its user, password and virtual host kept)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{host}:{port}" if credentials else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def can_manage_vhosts() -> bool:
    return shutil.which("rabbitmqctl") is not None


def _rabbitmqctl(*args: str) -> bool:
    tool = shutil.which("rabbitmqctl")
    if tool is None:
        return False
    done = subprocess.run([tool, "-q", *args], capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        log.warning("rabbitmqctl %s failed: %s", " ".join(args), done.stderr.decode(errors="replace").strip())
    return done.returncode == 0


def own_vhost(url: str, vhost: str) -> bool:
    """Make virtual host `vhost` on the broker of `url`, with the URL's user allowed everything on it;
    whether that worked."""
    user = unquote(urlsplit(url).username or "guest")
    return _rabbitmqctl("add_vhost", vhost) and _rabbitmqctl(
        "set_permissions", "-p", vhost, user, ".*", ".*", ".*"
    )


def drop_vhost(vhost: str) -> None:
    """Delete a stack's own virtual host with everything in it."""
    if vhost != DEFAULT_VHOST:
        _rabbitmqctl("delete_vhost", vhost)


def queue_depths(url: str, queues: list[str]) -> dict[str, int]:
    """Ready messages in each of `queues` on the broker of `url` (absent queues are left out)."""
    from kombu import Connection

    depths: dict[str, int] = {}
    with Connection(url, connect_timeout=5) as connection:
        for name in queues:
            channel = connection.channel()
            try:
                _, ready, _ = channel.queue_declare(name, passive=True)
                depths[name] = ready
            except Exception:  # no such queue: the channel is closed by the broker
                pass
            finally:
                with contextlib.suppress(Exception):
                    channel.close()
    return depths

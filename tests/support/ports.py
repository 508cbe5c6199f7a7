"""Ports as a test sees them: taken the way another program's server would take one, or all of a
stack's free again."""

import socket

from infra.stack.config import StackConfig, port_is_free


def listening_on(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:`port`; the caller closes it.

    It sets SO_REUSEADDR, as servers do and as the stack's own check of a port does
    (infra.stack.config.port_is_free): an earlier stack's connections on that port, still in
    TIME_WAIT, would otherwise refuse the bind, though nothing listens there. Listening, it still
    keeps every other server off the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
    except OSError:
        listener.close()
        raise
    return listener


def ports_free(config: StackConfig, *, but: int | None = None) -> bool:
    """Whether every port of the stack `config` describes (`but` that one) is free again."""
    return all(port_is_free(port) for port in config.port_numbers() if port != but)

"""Free TCP ports on 127.0.0.1 for tests that start real servers, and stack settings that use them.
A port is only free when asked; good enough on a machine that runs one test session at a time.
"""

import socket

from infra.stack import StackConfig


def free_ports(count: int) -> list[int]:
    """`count` distinct ports the OS would hand out now (all held open together while asking)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def stack_config_on_free_ports(var_dir, **settings) -> StackConfig:
    """A StackConfig on five free ports with its own var dir; `settings` (chaos, tuning, ...) win.

    *_DATABASE_URL from the environment still apply, so the same tests run on PostgreSQL.
    """
    temporal, ui, order, payment, inventory = free_ports(5)
    return StackConfig.from_env(
        temporal_port=temporal, temporal_ui_port=ui, order_port=order, payment_port=payment,
        inventory_port=inventory, var_dir=var_dir, **settings,
    )

"""Free TCP ports on 127.0.0.1 for tests that start real servers. A port is only free when asked;
good enough on a machine that runs one test session at a time.
"""

import socket


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


"""A TCP proxy that a chaos run puts between the stack and its broker: it forwards every
connection, and `cut()` closes them all at once from the middle, as a failed network or a broker
restart would, while new connections are still let through. It listens on 127.0.0.1, or on the
machine's end of a chaos link (infra/chaos/netns.py), where it lets a service in a namespace of its
own reach what listens on the loopback."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

from infra.stack.config import HOST, free_ports

_CHUNK = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, listen: tuple[str, int] | None = None) -> None:
        """Forward to `target_host`:`target_port`; listen at `listen` (host, port), by default on
        127.0.0.1 at a free port."""
        self.target = (target_host, target_port)
        host, self.port = listen or (HOST, free_ports(1)[0])
        self.cuts = 0
        self._listener = socket.create_server((host, self.port))
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._listener.close()
        self.cut()
        self.cuts -= 1  # closing at the end is not a fault

    def cut(self) -> int:
        """Close every connection through the proxy; how many there were."""
        with self._lock:
            pairs, self._pairs = self._pairs, set()
        for pair in pairs:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
        self.cuts += 1
        return len(pairs)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair,), name="tcp-proxy-pump", daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        other = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for end in pair:
                selector.register(end, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in selector.select(timeout=1.0):
                        ready = key.fileobj
                        assert isinstance(ready, socket.socket)
                        data = ready.recv(_CHUNK)
                        if not data:
                            raise ConnectionError("closed")
                        other[ready].sendall(data)
                    if self._stopped.is_set():
                        return
            except (OSError, ConnectionError, ValueError):
                pass
            finally:
                with self._lock:
                    self._pairs.discard(pair)
                for end in pair:
                    with contextlib.suppress(OSError):
                        end.close()

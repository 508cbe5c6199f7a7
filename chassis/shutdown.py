"""Stopping a long-running command cleanly. SIGTERM (from the supervisor, compose or Kubernetes) or
SIGINT (Ctrl-C) sets an event that the command's loop watches, so the command finishes the message
at hand and exits 0. Nothing here runs the loop itself."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def stop_on_signals(logger: logging.Logger, what: str) -> Iterator[threading.Event]:
    """An event that the first SIGTERM or SIGINT during the block sets, logged on `logger` as
    "<what> stopping" with the signal's name. The signals' previous handlers come back when the block
    ends."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info(f"{what} stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

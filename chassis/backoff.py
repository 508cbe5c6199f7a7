"""The one backoff every retry loop of the services uses: the outbox relay, the event publishers, the
event consumer and the notification sender."""

from __future__ import annotations

import random


def jittered_backoff(failures: int, *, first: float, ceiling: float) -> float:
    """Seconds to wait after the `failures`-th failure in a row: `first`, doubling per failure up to
    `ceiling`, jittered down by up to half so that what failed together does not retry together."""
    top = min(ceiling, first * 2 ** min(max(failures, 1) - 1, 30))
    return random.uniform(top / 2, top)

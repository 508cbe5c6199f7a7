"""A stand-in for the worker's identity: a TokenSource handing out fixed tokens, no keys, no network.

Every ServiceClient in the unit and workflow tests is built with one; it counts what the client
asked of it, so a test can prove when a refused token was dropped.
"""

TOKEN = "saga-token-1"
"""The first token handed out; after n invalidations it is `saga-token-<n+1>`."""


class FixedTokens:
    """Hands out `saga-token-1` until invalidated, then `saga-token-2`, and so on; or raises
    `fails_with` when it is set, the way a source with no credentials does."""

    def __init__(self, *, fails_with: Exception | None = None) -> None:
        self.fails_with = fails_with
        self.requests = 0
        """How often the client asked for a token."""
        self.invalidations = 0

    async def token(self) -> str:
        self.requests += 1
        if self.fails_with is not None:
            raise self.fails_with
        return f"saga-token-{self.invalidations + 1}"

    def invalidate(self) -> None:
        self.invalidations += 1

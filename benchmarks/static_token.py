"""The token source the benchmarks' clients use: a token had already, so a measured call is the call
path without the fetch (the servers they call check no token)."""


class StaticToken:
    """orchestrator.auth.TokenSource with one token that never runs out."""

    async def token(self) -> str:
        return "bench-token"

    def invalidate(self) -> None:
        pass

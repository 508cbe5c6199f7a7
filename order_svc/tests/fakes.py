"""A saga starter that records instead of calling Temporal (order_svc's unit tests only)."""

from orders.saga import SagaStartFailed


class RecordingSagaStarter:
    def __init__(self) -> None:
        self.started: list[tuple[str, object]] = []
        self.fail_with: str | None = None

    def start(self, *, workflow_id, saga) -> None:
        if self.fail_with:
            raise SagaStartFailed(self.fail_with)
        self.started.append((workflow_id, saga))

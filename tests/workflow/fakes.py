"""A recording stand-in for SagaActivities: same activity names, scripted outcomes, no network.

Each attempt is recorded; an outcome script per activity says how successive attempts end.
"""

import asyncio
from collections import defaultdict
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestrator.contracts import (
    AuthorizePaymentInput,
    CancelOrderInput,
    ConfirmOrderInput,
    OrderRef,
    PricedLine,
    Reservation,
    ReserveStockInput,
)

OK = "ok"
TRANSIENT = "transient"
"""Fails before taking effect, the way an unreachable service does."""
LOST_REPLY = "lost_reply"
"""Takes effect, then fails: the reply never reached the activity."""

PRICES = {"SKU-RED": 1250, "SKU-BLUE": 400}


class FakeSagaServices:
    """Records every attempt and ends it as scripted.

    Outcomes come from `script` (one per attempt, in order), then from `always` (default OK); an
    outcome other than OK, TRANSIENT or LOST_REPLY is raised as that business error.
    """

    def __init__(
        self,
        *,
        script: dict[str, list[str]] | None = None,
        always: dict[str, str] | None = None,
        currency: str = "USD",
    ) -> None:
        self._script = {name: list(outcomes) for name, outcomes in (script or {}).items()}
        self._always = always or {}
        self._currency = currency
        self.calls: list[str] = []
        """Activity names, one per attempt."""
        self.effects: list[str] = []
        """Activity names whose effect took place, whether or not the reply arrived."""
        self.inputs: dict[str, list[Any]] = defaultdict(list)
        self.entered: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        """Set once an attempt of that activity has begun."""
        self._gates: dict[str, asyncio.Event] = {}

    def hold(self, name: str) -> asyncio.Event:
        """Attempts of activity `name` wait, once begun, until the returned event is set."""
        gate = self._gates[name] = asyncio.Event()
        return gate

    def all(self) -> list[Any]:
        return [
            self.reserve_stock,
            self.release_stock,
            self.authorize_payment,
            self.void_payment,
            self.capture_payment,
            self.commit_stock,
            self.confirm_order,
            self.cancel_order,
        ]

    async def _attempt(self, name: str, arg: Any) -> None:
        self.entered[name].set()
        if (gate := self._gates.get(name)) is not None:
            await gate.wait()
        self.calls.append(name)
        self.inputs[name].append(arg)
        pending = self._script.get(name)
        outcome = pending.pop(0) if pending else self._always.get(name, OK)
        if outcome == OK:
            self.effects.append(name)
        elif outcome == TRANSIENT:
            raise ApplicationError(f"{name}: HTTP 503", type="ServiceUnavailable")
        elif outcome == LOST_REPLY:
            self.effects.append(name)
            raise ApplicationError(f"{name}: ReadTimeout", type="ServiceUnreachable")
        else:
            raise ApplicationError(f"{name}: {outcome}", type=outcome, non_retryable=True)

    @activity.defn(name="reserve_stock")
    async def reserve_stock(self, request: ReserveStockInput) -> Reservation:
        await self._attempt("reserve_stock", request)
        lines = [PricedLine(item.sku, item.quantity, PRICES[item.sku]) for item in request.items]
        return Reservation(
            order_id=request.order_id,
            status="RESERVED",
            lines=lines,
            total_cents=sum(line.quantity * line.unit_price_cents for line in lines),
            currency=self._currency,
        )

    @activity.defn(name="release_stock")
    async def release_stock(self, order: OrderRef) -> None:
        await self._attempt("release_stock", order)

    @activity.defn(name="authorize_payment")
    async def authorize_payment(self, request: AuthorizePaymentInput) -> None:
        await self._attempt("authorize_payment", request)

    @activity.defn(name="void_payment")
    async def void_payment(self, order: OrderRef) -> None:
        await self._attempt("void_payment", order)

    @activity.defn(name="capture_payment")
    async def capture_payment(self, order: OrderRef) -> None:
        await self._attempt("capture_payment", order)

    @activity.defn(name="commit_stock")
    async def commit_stock(self, order: OrderRef) -> None:
        await self._attempt("commit_stock", order)

    @activity.defn(name="confirm_order")
    async def confirm_order(self, request: ConfirmOrderInput) -> None:
        await self._attempt("confirm_order", request)

    @activity.defn(name="cancel_order")
    async def cancel_order(self, request: CancelOrderInput) -> None:
        await self._attempt("cancel_order", request)

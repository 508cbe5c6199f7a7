"""The orders a chaos run places: its own catalog and accounts, and a seeded mix of orders that
should confirm, run out of stock, be declined or name an unknown SKU."""

from __future__ import annotations

import random
from dataclasses import dataclass

from infra.rest import RestClient
from saga_contract import CancellationReason, OrderStatus


@dataclass
class PlannedOrder:
    customer_id: str
    items: dict[str, int]
    expected: str
    """"CONFIRMED", or the cancellation reason the order must end with."""
    order_id: str | None = None
    placed_at: float | None = None
    place_attempts: int = 0

    @property
    def placed_id(self) -> str:
        """The order's id, which exists once it was placed."""
        if self.order_id is None:
            raise RuntimeError(f"an order of {self.customer_id} was never placed")
        return self.order_id


@dataclass
class Catalog:
    """What a run creates for itself: SKUs with plenty of stock, one without, rich and poor customers."""

    plentiful: dict[str, int]  # sku -> price in cents
    scarce: str
    rich: list[str]
    poor: str
    unknown: str

    @classmethod
    def make(cls, run_id: str, rng: random.Random) -> Catalog:
        return cls(
            plentiful={f"{run_id}-SKU{i}": rng.randrange(200, 5000, 10) for i in range(6)},
            scarce=f"{run_id}-SCARCE",
            rich=[f"{run_id}-rich{i}" for i in range(8)],
            poor=f"{run_id}-poor",
            unknown=f"{run_id}-GHOST",
        )

    def create(self, inventory: RestClient, payment: RestClient, orders: int) -> None:
        for sku, price in self.plentiful.items():
            inventory.check(
                inventory.post(
                    "/api/v1/products",
                    {"sku": sku, "name": f"Chaos {sku}", "price_cents": price, "on_hand": orders * 10},
                )
            )
        inventory.check(
            inventory.post(
                "/api/v1/products",
                {"sku": self.scarce, "name": "Never in stock", "price_cents": 999, "on_hand": 0},
            )
        )
        for customer in self.rich:
            payment.check(
                payment.post("/api/v1/accounts", {"customer_id": customer, "balance_cents": 10**10})
            )
        payment.check(payment.post("/api/v1/accounts", {"customer_id": self.poor, "balance_cents": 100}))

    def plan(self, count: int, rng: random.Random) -> list[PlannedOrder]:
        """A realistic mix: about 70 % valid, 10 % each out of stock, declined, unknown SKU."""
        planned: list[PlannedOrder] = []
        for _ in range(count):
            items = {sku: rng.randint(1, 3) for sku in rng.sample(sorted(self.plentiful), rng.randint(1, 3))}
            roll = rng.random()
            if roll < 0.7:
                planned.append(PlannedOrder(rng.choice(self.rich), items, OrderStatus.CONFIRMED))
            elif roll < 0.8:
                planned.append(
                    PlannedOrder(
                        rng.choice(self.rich), {**items, self.scarce: 1}, CancellationReason.OUT_OF_STOCK
                    )
                )
            elif roll < 0.9:
                planned.append(PlannedOrder(self.poor, items, CancellationReason.PAYMENT_DECLINED))
            else:
                planned.append(
                    PlannedOrder(
                        rng.choice(self.rich), {**items, self.unknown: 1}, CancellationReason.UNKNOWN_SKU
                    )
                )
        return planned

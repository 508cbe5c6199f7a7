"""The order saga on real parts: the Temporal dev server, three gunicorn services and the worker.

Each test makes its own products and customer, places an order over REST the way a client would,
and checks that stock and money moved by exactly the right amounts (or not at all).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.api import unique

TEMPORAL_CLI = Path(sys.executable).parent / "temporal"


def merchant_balance(api) -> int:
    return api.payment.check(api.payment.get("/api/v1/merchant"))["balance_cents"]


def stock(api, sku) -> tuple[int, int, int]:
    product = api.get_product(sku)
    return product["on_hand"], product["reserved"], product["available"]


def money(api, customer_id) -> tuple[int, int]:
    account = api.get_account(customer_id)
    return account["balance_cents"], account["held_cents"]


def reservation(api, order_id) -> dict:
    return api.inventory.check(api.inventory.get(f"/api/v1/reservations/{order_id}"))


def describe_workflow(stack, workflow_id: str) -> dict:
    done = subprocess.run(
        [
            str(TEMPORAL_CLI),
            "workflow",
            "describe",
            "--workflow-id",
            workflow_id,
            "--address",
            stack.temporal_address,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_confirmed_order_moves_stock_and_money_by_exactly_its_total(api, stack):
    beans = api.create_product(price_cents=2490, on_hand=10)["sku"]
    mug = api.create_product(price_cents=1200, on_hand=5)["sku"]
    customer = api.create_account(balance_cents=50_000)["customer_id"]
    merchant_before = merchant_balance(api)

    placed = api.place_order(customer, {beans: 2, mug: 1})
    assert placed["status"] == "PENDING"
    order = api.wait_for_final(placed["id"], timeout=60)

    total = 2 * 2490 + 1200
    assert order["status"] == "CONFIRMED"
    assert order["cancellation_reason"] is None
    assert order["total_cents"] == total
    assert {i["sku"]: i["unit_price_cents"] for i in order["items"]} == {beans: 2490, mug: 1200}
    assert stock(api, beans) == (8, 0, 8)
    assert stock(api, mug) == (4, 0, 4)
    assert money(api, customer) == (50_000 - total, 0)
    assert merchant_balance(api) - merchant_before == total
    assert [(p["status"], p["amount_cents"]) for p in api.payments_for(order["id"])] == [("CAPTURED", total)]
    assert reservation(api, order["id"])["status"] == "COMMITTED"

    described = describe_workflow(stack, order["workflow_id"])
    assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
    assert described["workflowExecutionInfo"]["type"]["name"] == "OrderSaga"


@pytest.mark.parametrize(
    ("on_hand", "balance", "reason", "payments"),
    [
        (1, 50_000, "out_of_stock", []),  # authorize never attempted, so nothing to void
        (10, 100, "payment_declined", [("VOIDED", 0)]),  # the void of a declined hold: a tombstone of 0
    ],
)
def test_business_failures_cancel_and_leave_nothing_held_or_reserved(api, on_hand, balance, reason, payments):
    sku = api.create_product(price_cents=1000, on_hand=on_hand)["sku"]
    customer = api.create_account(balance_cents=balance)["customer_id"]
    merchant_before = merchant_balance(api)

    order = api.wait_for_final(api.place_order(customer, {sku: 2})["id"], timeout=60)

    assert (order["status"], order["cancellation_reason"]) == ("CANCELLED", reason)
    assert stock(api, sku) == (on_hand, 0, on_hand)
    assert money(api, customer) == (balance, 0)
    assert merchant_balance(api) == merchant_before
    assert [(p["status"], p["amount_cents"]) for p in api.payments_for(order["id"])] == payments
    assert reservation(api, order["id"])["status"] == "RELEASED"


def test_unknown_sku_cancels_without_touching_known_stock(api):
    known = api.create_product(on_hand=3)["sku"]
    customer = api.create_account(balance_cents=10_000)["customer_id"]

    order = api.wait_for_final(
        api.place_order(customer, {known: 1, unique("GHOST").upper(): 1})["id"], timeout=60
    )

    assert (order["status"], order["cancellation_reason"]) == ("CANCELLED", "unknown_sku")
    assert stock(api, known) == (3, 0, 3)
    assert money(api, customer) == (10_000, 0)


def test_the_same_place_request_twice_makes_one_order_and_one_saga(api):
    sku = api.create_product(price_cents=700, on_hand=4)["sku"]
    customer = api.create_account(balance_cents=10_000)["customer_id"]

    first = api.place_order(customer, {sku: 1}, key="place-twice")
    again = api.place_order(customer, {sku: 1}, key="place-twice")
    assert again == first
    api.wait_for_final(first["id"], timeout=60)

    orders = api.order.check(api.order.get("/api/v1/orders", params={"customer_id": customer}))
    assert orders["count"] == 1
    assert stock(api, sku) == (3, 0, 3)
    assert money(api, customer) == (9_300, 0)


def test_bad_input_over_http_gets_the_error_shape(api):
    customer = api.customer("x")
    raw = customer.http.post(
        "/api/v1/orders",
        content=b"{not json",
        headers={"Idempotency-Key": unique("k"), "Content-Type": "application/json"},
    )
    assert raw.status_code == 400
    assert raw.json()["code"] == "malformed_json"
    no_key = customer.http.post(
        "/api/v1/orders", json={"customer_id": "x", "items": [{"sku": "A", "quantity": 1}]}
    )
    assert no_key.status_code == 400
    assert no_key.json()["code"] == "idempotency_key_missing"
    zero = customer.post("/api/v1/orders", {"customer_id": "x", "items": [{"sku": "A", "quantity": 0}]})
    assert zero.status_code == 400
    assert zero.json()["code"] == "validation_error"
    missing = api.get("/api/v1/orders/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["code"] == "order_not_found"


def test_every_service_reports_health_and_readiness(stack):
    import httpx

    for url in (stack.order_url, stack.payment_url, stack.inventory_url):
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{url}/readyz").json()["status"] == "ok"

"""Transient failure on real processes: 503 bursts, an outage that opens a breaker, lost replies and
slow answers. No transient failure may cancel an order, double an effect or leave a saga stuck."""

import time
from datetime import datetime, timedelta

import pytest

from tests.resilience.conftest import BREAKER_RESET_SECONDS, SAGA_DEADLINE_SECONDS

PRICE = 1500


def fresh_order_setup(api, *, on_hand=10, balance=50_000):
    sku = api.create_product(price_cents=PRICE, on_hand=on_hand)["sku"]
    customer = api.create_account(balance_cents=balance)["customer_id"]
    return sku, customer


def merchant_balance(api) -> int:
    return api.payment.check(api.payment.get("/api/v1/merchant"))["balance_cents"]


def assert_confirmed_exactly_once(
    api, order, sku, customer, *, quantity, on_hand=10, balance=50_000, merchant_before
):
    total = PRICE * quantity
    assert order["status"] == "CONFIRMED", order
    assert order["total_cents"] == total
    product = api.get_product(sku)
    assert (product["on_hand"], product["reserved"]) == (on_hand - quantity, 0)
    account = api.get_account(customer)
    assert (account["balance_cents"], account["held_cents"]) == (balance - total, 0)
    assert merchant_balance(api) - merchant_before == total
    assert [(p["status"], p["amount_cents"]) for p in api.payments_for(order["id"])] == [("CAPTURED", total)]


def test_a_burst_of_503s_is_ridden_out(api, faults):
    sku, customer = fresh_order_setup(api)
    merchant_before = merchant_balance(api)
    retries_before = faults.worker_metric("saga_activity_retries", step="reserve_stock")
    faults.set("inventory", error_rate=1.0, paths=["/internal/v1/reservations"])

    order_id = api.place_order(customer, {sku: 2})["id"]
    faults.wait_until_injected("inventory", "error", at_least=3)
    time.sleep(3)
    faults.clear_all()

    order = api.wait_for_final(order_id, timeout=30)
    assert_confirmed_exactly_once(api, order, sku, customer, quantity=2, merchant_before=merchant_before)
    refused = [
        r for r in faults.requests("inventory", "/internal/v1/reservations", order_id) if r["status"] == 503
    ]
    assert len(refused) >= 3
    # The client layer's own quick retries are inside one attempt; Temporal's next attempts are counted.
    assert faults.worker_metric("saga_activity_retries", step="reserve_stock") > retries_before


def _breaker_events(faults, service: str, since: datetime) -> list[tuple[datetime, str]]:
    events = []
    for line in faults.worker_log():
        if line.get("logger") == "orchestrator.breakers" and f"circuit breaker {service}:" in line["message"]:
            at = datetime.fromisoformat(line["time"])
            if at >= since:
                events.append((at, line["message"].split(": ", 1)[1]))
    return events


def test_an_outage_opens_the_breaker_pauses_the_saga_and_it_completes_after_recovery(api, faults):
    sku, customer = fresh_order_setup(api)
    merchant_before = merchant_balance(api)
    started = datetime.now().astimezone()
    faults.set("payment", error_rate=1.0)

    order_id = api.place_order(customer, {sku: 1})["id"]
    deadline = time.monotonic() + 20
    while not (
        opened := [
            at for at, state in _breaker_events(faults, "payment_svc", started) if state == "closed -> open"
        ]
    ):
        assert time.monotonic() < deadline, "payment_svc's breaker never opened"
        time.sleep(0.1)
    assert faults.worker_metric("saga_breaker_open", service="payment_svc") == 1
    # While open, attempts fail inside the worker without a single request reaching the service.
    # The open stretch is counted from the breaker's own log line, not from when the test saw it.
    open_until = opened[0] + timedelta(seconds=BREAKER_RESET_SECONDS - 0.5)
    time.sleep(max(0.0, (open_until - datetime.now().astimezone()).total_seconds()))
    reached = [
        line["time"]
        for line in faults.requests("payment", "/internal/v1/payments/authorize", order_id)
        if opened[0] < datetime.fromisoformat(line["time"]) < open_until
    ]
    assert reached == [], f"requests reached payment_svc while its breaker was open (from {opened[0]})"
    faults.clear_all()

    order = api.wait_for_final(order_id, timeout=30)
    assert_confirmed_exactly_once(api, order, sku, customer, quantity=1, merchant_before=merchant_before)
    states = [state for _, state in _breaker_events(faults, "payment_svc", started)]
    assert states[:1] == ["closed -> open"], states
    assert states[-1] == "half-open -> closed", states
    assert faults.worker_metric("saga_breaker_open", service="payment_svc") == 0


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("inventory", "/internal/v1/reservations"),
        ("payment", "/internal/v1/payments/authorize"),
        ("payment", "/internal/v1/payments/capture"),
    ],
)
def test_a_lost_reply_is_retried_without_a_second_effect(api, faults, service, path):
    sku, customer = fresh_order_setup(api)
    merchant_before = merchant_balance(api)
    faults.set(service, lost_ack_rate=1.0, paths=[path])

    order_id = api.place_order(customer, {sku: 3})["id"]
    faults.wait_until_injected(service, "lost_ack")
    faults.clear_all()

    order = api.wait_for_final(order_id, timeout=30)
    assert_confirmed_exactly_once(api, order, sku, customer, quantity=3, merchant_before=merchant_before)
    seen = faults.requests(service, path, order_id)
    assert [r["status"] for r in seen][:1] == [503], "the first reply was lost"
    assert len(seen) >= 2, "the lost reply was retried"


def test_a_hold_hidden_by_lost_replies_is_voided_when_the_saga_times_out(api, faults):
    sku, customer = fresh_order_setup(api)
    merchant_before = merchant_balance(api)
    faults.set("payment", lost_ack_rate=1.0, paths=["/internal/v1/payments/authorize"])

    order_id = api.place_order(customer, {sku: 2})["id"]
    faults.wait_until_injected("payment", "lost_ack")
    # Every reply of authorize is lost until the saga deadline passes: the hold was made, the saga
    # never heard of it, and its compensation must find and void it.
    order = api.wait_for_final(order_id, timeout=SAGA_DEADLINE_SECONDS + 30)

    assert (order["status"], order["cancellation_reason"]) == ("CANCELLED", "timed_out")
    assert [(p["status"], p["amount_cents"]) for p in api.payments_for(order_id)] == [("VOIDED", 2 * PRICE)]
    account = api.get_account(customer)
    assert (account["balance_cents"], account["held_cents"]) == (50_000, 0)
    product = api.get_product(sku)
    assert (product["on_hand"], product["reserved"]) == (10, 0)
    assert merchant_balance(api) == merchant_before


@pytest.mark.parametrize(
    ("on_hand", "balance", "service", "path", "reason"),
    [
        (1, 50_000, "inventory", "/internal/v1/reservations", "out_of_stock"),
        (10, 100, "payment", "/internal/v1/payments/authorize", "payment_declined"),
    ],
)
def test_business_errors_are_never_retried(api, faults, on_hand, balance, service, path, reason):
    sku, customer = fresh_order_setup(api, on_hand=on_hand, balance=balance)

    order = api.wait_for_final(api.place_order(customer, {sku: 2})["id"], timeout=30)

    assert (order["status"], order["cancellation_reason"]) == ("CANCELLED", reason)
    assert [r["status"] for r in faults.requests(service, path, order["id"])] == [
        409 if reason == "out_of_stock" else 402
    ]


def test_an_answer_slower_than_the_read_timeout_is_retried_without_a_second_effect(api, faults):
    sku, customer = fresh_order_setup(api)
    merchant_before = merchant_balance(api)
    # The client gives up reading after 5 s; this answer takes 5.5 s.
    faults.set("payment", latency_ms=[5500, 5500], paths=["/internal/v1/payments/capture"])

    order_id = api.place_order(customer, {sku: 1})["id"]
    faults.wait_until_injected("payment", "latency")
    faults.clear_all()

    order = api.wait_for_final(order_id, timeout=40)
    assert_confirmed_exactly_once(api, order, sku, customer, quantity=1, merchant_before=merchant_before)
    assert len(faults.requests("payment", "/internal/v1/payments/capture", order_id)) >= 2

"""Abuse limits (chassis.throttling) where both of them apply: every request counts against
THROTTLE_RATES["requests"] and every placement against ["order_placements"] too, per customer;
operators only when THROTTLE_OPERATORS is on; anonymous callers per client address; the saga never."""

import pytest
from orders.models import Order, OutboxRecord

from chassis.idempotency.models import IdempotencyRecord
from chassis.testing import ApiClient

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


@pytest.fixture(autouse=True)
def low_rates(settings):
    settings.THROTTLE_RATES = {"requests": "5/min", "order_placements": "3/min"}


def place(client, **kwargs):
    return client.post(ORDERS, {"items": [{"sku": "TEA", "quantity": 1}]}, **kwargs)


def assert_throttled(r) -> None:
    """A 429 in the error shape that says, in its header and its details alike, when to come back."""
    assert r.status_code == 429, r.content
    body = r.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == "throttled"
    retry_after = int(r["Retry-After"])
    assert 0 < retry_after <= 60
    assert body["details"] == {"retry_after_seconds": retry_after}


def test_the_fourth_placement_in_a_minute_is_429_and_stores_nothing(customer):
    alice = customer("alice")
    assert [place(alice).status_code for _ in range(3)] == [202, 202, 202]

    refused = place(alice, key="the-fourth")

    assert_throttled(refused)
    assert Order.objects.count() == 3
    assert OutboxRecord.objects.count() == 3
    assert not IdempotencyRecord.objects.filter(key="the-fourth").exists()


def test_one_customer_being_throttled_leaves_another_alone(customer):
    alice, bob = customer("alice"), customer("bob")
    for _ in range(3):
        place(alice)
    assert_throttled(place(alice))
    assert place(bob).status_code == 202
    assert bob.get(ORDERS).status_code == 200


def test_reads_do_not_use_up_the_placement_allowance(settings, customer):
    settings.THROTTLE_RATES = {"requests": "100/min", "order_placements": "3/min"}
    alice = customer("alice")
    assert {alice.get(ORDERS).status_code for _ in range(10)} == {200}
    assert [place(alice).status_code for _ in range(4)] == [202, 202, 202, 429]
    assert alice.get(ORDERS).status_code == 200


def test_every_request_counts_against_the_request_rate(customer):
    alice = customer("alice")
    assert [alice.get(ORDERS).status_code for _ in range(5)] == [200] * 5
    assert_throttled(alice.get(ORDERS))
    assert_throttled(place(alice))


def test_the_saga_is_never_throttled(saga):
    order = Order.objects.create(customer_id="alice")
    cancel = {"reason": "out_of_stock"}
    replies = {
        saga.post(f"/internal/v1/orders/{order.id}/cancel", cancel, key="k").status_code for _ in range(12)
    }
    assert replies == {200}


@pytest.mark.parametrize(
    ("throttle_operators", "statuses"),
    [(False, [200] * 8), (True, [200] * 5 + [429] * 3)],
    ids=["by-default", "with-THROTTLE_OPERATORS"],
)
def test_operators_are_throttled_only_when_settings_say_so(settings, operator, throttle_operators, statuses):
    settings.THROTTLE_OPERATORS = throttle_operators
    assert [operator.get(ORDERS).status_code for _ in range(8)] == statuses


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no-token", "a-bad-token"])
def test_a_flood_without_a_valid_token_meets_429_per_client_address(token):
    """Counted against the client's address before it is refused, so 401s cannot be had for free."""
    flooder = ApiClient(token)

    def from_address(address):
        return flooder.client.get(ORDERS, REMOTE_ADDR=address)

    statuses = [from_address("10.0.0.1").status_code for _ in range(5)]
    assert statuses == [401] * 5
    assert_throttled(from_address("10.0.0.1"))
    assert from_address("10.0.0.2").status_code == 401, "another address has its own allowance"


def test_an_anonymous_flood_does_not_throttle_a_customer_at_the_same_address(customer):
    anonymous, alice = ApiClient(), customer("alice")
    statuses = [anonymous.client.get(ORDERS, REMOTE_ADDR="10.0.0.1").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert alice.client.get(ORDERS, REMOTE_ADDR="10.0.0.1").status_code == 200


def test_a_flood_of_forbidden_calls_meets_429_too(customer):
    """A customer calling what it may not (the saga's reports) is counted before it is refused."""
    alice = customer("alice")
    forbidden = "/internal/v1/orders/00000000-0000-4000-8000-000000000009/cancel"

    assert [alice.post(forbidden, {"reason": "out_of_stock"}).status_code for _ in range(5)] == [403] * 5
    assert_throttled(alice.post(forbidden, {"reason": "out_of_stock"}))


def test_counters_in_redis_are_shared_by_every_process(settings, customer):
    """With REDIS_URL (production), the counters live in Redis: what one process counted, another
    process (here: a second cache client on the same server) sees."""
    import socket
    import uuid

    from django.core.cache import caches

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379 to keep the counters in")
    prefix = f"throttle-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": prefix,
        }
    }
    alice = customer("alice")
    try:
        assert [place(alice).status_code for _ in range(3)] == [202, 202, 202]
        assert_throttled(place(alice))
        counted = caches.create_connection("default")  # as another process would connect
        assert len(counted.get("throttle_order_placements_customer:alice")) == 3
    finally:  # only this test's keys: never flush a Redis others may share
        caches["default"].delete_many(
            ["throttle_order_placements_customer:alice", "throttle_requests_customer:alice"]
        )

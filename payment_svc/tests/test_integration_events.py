"""payment_svc records payment.captured and payment.voided in the transaction that moves the money,
once per payment: a repeated command, a refused one and a void of nothing record none."""

import uuid

import pytest
from payments import services
from payments.errors import PaymentCaptured

from chassis.events.models import OutboxEvent
from saga_contract.events import EventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(make_account, merchant):
    make_account(customer_id="alice", balance_cents=10_000)
    order_id = uuid.uuid4()
    payment, _ = services.payment_authorize(
        order_id=order_id, customer_id="alice", amount_cents=2500, currency="USD"
    )
    return payment


def events() -> list[tuple[str, str, dict]]:
    return [(e.type, e.key, e.data) for e in OutboxEvent.objects.order_by("sequence")]


def expected(event_type: EventType, payment) -> tuple[str, str, dict]:
    data = {
        "payment_id": str(payment.id),
        "order_id": str(payment.order_id),
        "customer_id": "alice",
        "amount_cents": 2500,
        "currency": "USD",
    }
    return (event_type, str(payment.order_id), data)


def test_authorizing_records_no_event(held):
    assert events() == []


def test_a_capture_records_payment_captured_once(held):
    for _ in range(2):
        services.payment_capture(order_id=held.order_id)

    assert events() == [expected(EventType.PAYMENT_CAPTURED, held)]


def test_a_void_records_payment_voided_once_and_a_refused_capture_nothing(held):
    services.payment_void(order_id=held.order_id)
    services.payment_void(order_id=held.order_id)
    with pytest.raises(Exception, match="void"):
        services.payment_capture(order_id=held.order_id)

    assert events() == [expected(EventType.PAYMENT_VOIDED, held)]


def test_voiding_what_was_never_held_records_nothing(merchant):
    services.payment_void(order_id=uuid.uuid4())

    assert events() == []


def test_payment_captured_is_the_error_of_a_void_after_capture(held):
    services.payment_capture(order_id=held.order_id)
    with pytest.raises(PaymentCaptured):
        services.payment_void(order_id=held.order_id)

    assert events() == [expected(EventType.PAYMENT_CAPTURED, held)]

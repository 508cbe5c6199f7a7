"""The auditor on a real stack: every invariant holds after orders that end in every way, and each
corruption a saboteur makes behind the services' APIs is caught with the right invariant and subject.
`sagactl audit` is run as a user would: exit codes, one line per invariant, the JSON report.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.audit import (
    EVENTS,
    EXACTLY_ONCE,
    LIVENESS,
    MONEY,
    NOTIFICATIONS,
    STOCK,
    TemporalUnavailable,
    run_audit,
)
from infra.stack import free_ports
from tests.audit.conftest import SAGA_DEADLINE_SECONDS

SAGACTL = Path(sys.executable).parent / "sagactl"

# Two accounts + the books as a whole + seven final orders; three SKUs + seven final orders; seven
# orders; payment events (2 + 2 for the confirmed orders, a 0-cent void tombstone each for declined
# and timed out, authorize + void for the customer's cancel) and reservation events (2 + 2 confirmed;
# release tombstones for out_of_stock and unknown_sku; reserve + release for declined, timed out and
# the customer's cancel).
# Integration events: seven order.placed and seven final, two payment.captured, the voided hold and
# the order.cancel_requested of the customer's cancel, and one stock.low (the confirmed order takes the
# second product from 5 to 4). Notifications: seven notifications and seven final orders.
CLEAN_COUNTS = {
    MONEY: 10,
    STOCK: 10,
    LIVENESS: 7,
    EXACTLY_ONCE: 8 + 12,
    EVENTS: 7 + 7 + 2 + 1 + 1 + 1,
    NOTIFICATIONS: 7 + 7,
}


def audit(stack):
    return run_audit(
        order_url=stack.order_url,
        payment_url=stack.payment_url,
        inventory_url=stack.inventory_url,
        notification_url=stack.config.notification_url,
        temporal_address=stack.temporal_address,
        token=stack.config.tokens().operator_token(),
        deadline_seconds=SAGA_DEADLINE_SECONDS,
    )


def found(report) -> set[tuple[str, str]]:
    return {(violation.invariant, violation.subject) for violation in report.violations}


def sagactl_audit(stack, *args: str) -> subprocess.CompletedProcess:
    ports = {
        "TEMPORAL_PORT": stack.config.temporal_port,
        "TEMPORAL_UI_PORT": stack.config.temporal_ui_port,
        "ORDER_SVC_PORT": stack.config.order_port,
        "PAYMENT_SVC_PORT": stack.config.payment_port,
        "INVENTORY_SVC_PORT": stack.config.inventory_port,
        "NOTIFICATION_SVC_PORT": stack.config.notification_port,
        "IDENTITY_SVC_PORT": stack.config.identity_port,
    }
    return subprocess.run(
        [str(SAGACTL), "audit", "--deadline-seconds", str(SAGA_DEADLINE_SECONDS), *args],
        env=os.environ
        | {name: str(port) for name, port in ports.items()}
        | {"SAGA_VAR_DIR": str(stack.config.var_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_invariant_holds_after_orders_that_end_every_way(stack, orders):
    report = audit(stack)

    assert report.violations == []
    assert report.ok
    assert {result.name: result.checked for result in report.results} == CLEAN_COUNTS
    assert report.seen["orders"] == report.seen["workflows"] == 7


def test_sagactl_audit_prints_one_line_per_invariant_and_exits_0(stack, orders, tmp_path):
    done = sagactl_audit(stack, "--json", str(tmp_path / "audit.json"))

    assert done.returncode == 0, done.stderr
    assert [line.split() for line in done.stdout.splitlines()] == [
        [name, "checked", str(count), "OK"] for name, count in CLEAN_COUNTS.items()
    ]
    written = json.loads((tmp_path / "audit.json").read_text())
    assert written["ok"] is True
    assert [(i["name"], i["checked"], i["violations"]) for i in written["invariants"]] == [
        (name, count, []) for name, count in CLEAN_COUNTS.items()
    ]


def test_a_second_capture_is_caught(stack, orders, sabotage):
    order = orders["confirmed"]
    sabotage(
        "payment_svc",
        f"""
        from django.db.models import F
        from payments.models import MerchantAccount, PaymentEvent
        PaymentEvent.objects.create(
            order_id="{order["id"]}", kind="CAPTURED", amount_cents={order["total_cents"]},
            idempotency_key="sabotage-second-capture")
        MerchantAccount.objects.update(balance_cents=F("balance_cents") + {order["total_cents"]})
        """,
        f"""
        from django.db.models import F
        from payments.models import MerchantAccount, PaymentEvent
        PaymentEvent.objects.filter(idempotency_key="sabotage-second-capture").delete()
        MerchantAccount.objects.update(balance_cents=F("balance_cents") - {order["total_cents"]})
        """,
    )

    report = audit(stack)

    assert found(report) == {
        (MONEY, "all accounts"),
        (MONEY, f"order {order['id']}"),
        (EXACTLY_ONCE, f"order {order['id']}"),
    }
    details = {violation.detail for violation in report.violations}
    assert (
        f"CONFIRMED with total {order['total_cents']}, but {2 * order['total_cents']} was captured" in details
    )
    assert "2 CAPTURED events in payment_svc" in details


def test_a_leaked_reservation_is_caught(stack, orders, sabotage):
    order = orders["payment_declined"]

    def leak(status: str, sign: str) -> str:
        return f"""
        from django.db.models import F
        from inventory.models import Product, Reservation
        reservation = Reservation.objects.get(order_id="{order["id"]}")
        reservation.status = "{status}"
        reservation.save()
        for line in reservation.lines.all():
            Product.objects.filter(sku=line.product_id).update(reserved=F("reserved") {sign} line.quantity)
        """

    sabotage("inventory_svc", leak("RESERVED", "+"), leak("RELEASED", "-"))

    report = audit(stack)

    assert found(report) == {(STOCK, f"order {order['id']}")}
    [violation] = report.violations
    sku = order["items"][0]["sku"]
    assert violation.detail == f"CANCELLED, yet its stock is still RESERVED ({sku} x1)"


def test_an_order_confirmed_without_capture_is_caught(stack, orders, sabotage):
    order = orders["timed_out"]
    update = f'from orders.models import Order; Order.objects.filter(id="{order["id"]}").update'
    sabotage(
        "order_svc",
        f'{update}(status="CONFIRMED", cancellation_reason=None)',
        f'{update}(status="CANCELLED", cancellation_reason="timed_out")',
    )

    report = audit(stack)

    assert found(report) == {
        (MONEY, f"order {order['id']}"),
        (STOCK, f"sku {order['items'][0]['sku']}"),
        (LIVENESS, f"order {order['id']}"),
        (EVENTS, f"key {order['id']}"),  # told cancelled, never confirmed
        (NOTIFICATIONS, f"order {order['id']}"),  # its customer was told it was cancelled
    }
    details = {violation.invariant: violation.detail for violation in report.violations}
    assert details[MONEY] == f"CONFIRMED with total {order['total_cents']}, but 0 was captured"
    assert details[LIVENESS] == "CONFIRMED, but its workflow returned CANCELLED (timed_out)"


def test_a_status_that_disagrees_with_the_workflow_result_is_caught_and_sagactl_exits_1(
    stack, orders, sabotage, tmp_path
):
    order = orders["out_of_stock"]
    update = f'from orders.models import Order; Order.objects.filter(id="{order["id"]}").update'
    sabotage(
        "order_svc",
        f'{update}(cancellation_reason="payment_declined")',
        f'{update}(cancellation_reason="out_of_stock")',
    )

    done = sagactl_audit(stack, "--json", str(tmp_path / "audit.json"))

    assert done.returncode == 1, done.stderr
    detail = "CANCELLED (payment_declined), but its workflow returned CANCELLED (out_of_stock)"
    assert f"  order {order['id']}: {detail}" in done.stdout.splitlines()
    assert [line.split()[-1] for line in done.stdout.splitlines() if not line.startswith(" ")] == [
        "OK",
        "OK",
        "violation",
        "OK",
        "OK",
        "OK",
    ]
    written = json.loads((tmp_path / "audit.json").read_text())
    assert written["ok"] is False
    assert [i["violations"] for i in written["invariants"] if i["name"] == LIVENESS] == [
        [{"invariant": LIVENESS, "subject": f"order {order['id']}", "detail": detail}]
    ]


def test_an_order_without_a_workflow_is_caught(stack, orders, sabotage):
    ghost = "00000000-0000-4000-8000-000000000001"
    sabotage(
        "order_svc",
        f'from orders.models import Order; Order.objects.create(id="{ghost}", customer_id="nobody")',
        f'from orders.models import Order; Order.objects.filter(id="{ghost}").delete()',
    )

    report = audit(stack)

    assert found(report) == {(LIVENESS, f"order {ghost}"), (EVENTS, f"key {ghost}")}
    details = {violation.invariant: violation.detail for violation in report.violations}
    assert details[LIVENESS] == f"PENDING, but it has no workflow order-{ghost}"
    assert details[EVENTS] == "0 order.placed events recorded, 1 expected"


def test_a_key_reused_for_another_step_is_caught(stack, orders, sabotage):
    order_id = orders["confirmed_single"]["id"]
    commit_key = f"order-{order_id}:commit_stock"
    update = (
        "from inventory.models import ReservationEvent; "
        f'ReservationEvent.objects.filter(order_id="{order_id}", kind="RESERVED").update'
    )
    sabotage(
        "inventory_svc",
        f'{update}(idempotency_key="{commit_key}")',
        f'{update}(idempotency_key="order-{order_id}:reserve_stock")',
    )

    report = audit(stack)

    assert found(report) == {(EXACTLY_ONCE, f"key {commit_key}"), (EXACTLY_ONCE, f"order {order_id}")}


def test_an_unreachable_temporal_is_an_error_not_a_report(stack):
    [port] = free_ports(1)
    with pytest.raises(TemporalUnavailable, match=f"Temporal at 127.0.0.1:{port} did not answer"):
        run_audit(
            order_url=stack.order_url,
            payment_url=stack.payment_url,
            inventory_url=stack.inventory_url,
            temporal_address=f"127.0.0.1:{port}",
            token=stack.config.tokens().operator_token(),
        )

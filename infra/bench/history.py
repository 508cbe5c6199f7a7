"""Past orders for the bench's "cost as work grows": N finished sagas' worth of rows in every
service's database (orders, lines and outbox records; reservations, their lines and ledger; payments
and their ledger; idempotency records), written in bulk through each service's own Django, the way
a saga would have left them, and consistent with the audit's arithmetic. Only the bench uses this.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from infra.stack import StackConfig

# Each snippet runs in `manage.py shell` of its service with N, RUN and CUSTOMER in its globals.
_ORDERS = """
import uuid
from django.db import transaction
from chassis.idempotency.models import IdempotencyRecord
from orders.models import Order, OrderLine, OutboxRecord
from saga_contract import OrderSagaInput
from django.utils import timezone

now = timezone.now()
for start in range(0, N, 1000):
    ids = [uuid.UUID(int=(RUN << 64) + i) for i in range(start, min(N, start + 1000))]
    with transaction.atomic():
        Order.objects.bulk_create(Order(id=i, customer_id=CUSTOMER, status="CONFIRMED", total_cents=200) for i in ids)
        OrderLine.objects.bulk_create(
            OrderLine(order_id=i, sku=f"HIST-{RUN}-{n}", quantity=1, unit_price_cents=100) for i in ids for n in (0, 1))
        OutboxRecord.objects.bulk_create(OutboxRecord(
            order_id=i, started_at=now, attempts=1, next_attempt_at=now,
            payload=OrderSagaInput(
                str(i), CUSTOMER, [{"sku": f"HIST-{RUN}-{n}", "quantity": 1} for n in (0, 1)]
            ).as_payload(),
        ) for i in ids)
        IdempotencyRecord.objects.bulk_create(IdempotencyRecord(
            principal=f"customer:{CUSTOMER}", scope="POST /api/v1/orders", key=f"hist-{i}", fingerprint="0" * 64,
            state="COMPLETED", status_code=202, content_type="application/json", body=b"{}") for i in ids)
"""

_INVENTORY = """
import uuid
from django.db import transaction
from chassis.idempotency.models import IdempotencyRecord
from inventory.models import Product, Reservation, ReservationEvent, ReservationLine
from chassis.auth import SAGA, Principal
from chassis.tokens import SAGA_SUBJECT
from saga_contract import Step, idempotency_key, workflow_id

saga = Principal(SAGA, SAGA_SUBJECT).key

skus = [f"HIST-{RUN}-{n}" for n in (0, 1)]
Product.objects.bulk_create(
    Product(sku=s, name="Past orders", price_cents=100, on_hand=1000, received=1000 + N) for s in skus
)
for start in range(0, N, 1000):
    ids = [uuid.UUID(int=(RUN << 64) + i) for i in range(start, min(N, start + 1000))]
    with transaction.atomic():
        Reservation.objects.bulk_create(Reservation(order_id=i, status="COMMITTED", total_cents=200) for i in ids)
        ReservationLine.objects.bulk_create(
            ReservationLine(reservation_id=i, product_id=s, quantity=1, unit_price_cents=100)
            for i in ids
            for s in skus
        )
        ReservationEvent.objects.bulk_create(
            ReservationEvent(order_id=i, kind=kind, idempotency_key=idempotency_key(workflow_id(i), step))
            for i in ids for kind, step in (("RESERVED", Step.RESERVE_STOCK), ("COMMITTED", Step.COMMIT_STOCK)))
        IdempotencyRecord.objects.bulk_create(IdempotencyRecord(
            principal=saga, scope=scope, key=idempotency_key(workflow_id(i), step), fingerprint="0" * 64,
            state="COMPLETED", status_code=200, content_type="application/json", body=b"{}")
            for i in ids for scope, step in (("POST /internal/v1/reservations", Step.RESERVE_STOCK),
                                             (f"POST /internal/v1/reservations/{i}/commit", Step.COMMIT_STOCK)))
"""

_PAYMENT = """
import uuid
from django.db import transaction
from django.db.models import F
from chassis.idempotency.models import IdempotencyRecord
from payments.models import Account, MerchantAccount, Payment, PaymentEvent
from chassis.auth import SAGA, Principal
from chassis.tokens import SAGA_SUBJECT
from saga_contract import Step, idempotency_key, workflow_id

saga = Principal(SAGA, SAGA_SUBJECT).key

Account.objects.create(customer_id=CUSTOMER, balance_cents=0, deposited_cents=200 * N)
MerchantAccount.objects.filter(pk=MerchantAccount.SINGLETON_ID).update(balance_cents=F("balance_cents") + 200 * N)
for start in range(0, N, 1000):
    ids = [uuid.UUID(int=(RUN << 64) + i) for i in range(start, min(N, start + 1000))]
    with transaction.atomic():
        Payment.objects.bulk_create(
            Payment(order_id=i, customer_id=CUSTOMER, amount_cents=200, status="CAPTURED") for i in ids)
        PaymentEvent.objects.bulk_create(
            PaymentEvent(order_id=i, kind=kind, amount_cents=200, idempotency_key=idempotency_key(workflow_id(i), step))
            for i in ids for kind, step in (("AUTHORIZED", Step.AUTHORIZE_PAYMENT), ("CAPTURED", Step.CAPTURE_PAYMENT)))
        IdempotencyRecord.objects.bulk_create(IdempotencyRecord(
            principal=saga, scope=f"POST /internal/v1/payments/{verb}", key=idempotency_key(workflow_id(i), step),
            fingerprint="0" * 64, state="COMPLETED", status_code=200, content_type="application/json", body=b"{}")
            for i in ids for verb, step in (("authorize", Step.AUTHORIZE_PAYMENT), ("capture", Step.CAPTURE_PAYMENT)))
"""

SNIPPETS = {"order_svc": _ORDERS, "inventory_svc": _INVENTORY, "payment_svc": _PAYMENT}


def store_past_orders(config: StackConfig, *, orders: int, run: int) -> None:
    """Write `orders` finished orders into every service's database (run: a number that keeps this
    batch's ids and SKUs apart from any other)."""
    for service, snippet in SNIPPETS.items():
        code = f"N = {orders}\nRUN = {run}\nCUSTOMER = 'hist-{run}'\n" + textwrap.dedent(snippet)
        env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
        env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "SAGA_VAR_DIR": str(config.var_dir)}
        if service in config.database_urls:
            env["DATABASE_URL"] = config.database_urls[service]
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "--verbosity", "0", "--command", code],
            cwd=config.root / service,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"storing past orders in {service} failed:\n{done.stderr[-2000:]}")

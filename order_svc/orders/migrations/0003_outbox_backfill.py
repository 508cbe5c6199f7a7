"""Every order has an outbox record from now on: orders placed before the outbox had their saga
started in their own placement transaction, so theirs are written as already started. The payload
is the workflow input of that time, spelled out here so that this migration never changes."""

from django.conf import settings
from django.db import migrations


def backfill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OutboxRecord = apps.get_model("orders", "OutboxRecord")
    deadline = settings.ORDER_SAGA_DEADLINE_SECONDS
    orders = Order.objects.filter(outbox__isnull=True).prefetch_related("items").order_by("created_at")
    for order in orders.iterator(chunk_size=500):
        OutboxRecord.objects.create(
            order=order,
            payload={
                "order_id": str(order.id),
                "customer_id": order.customer_id,
                "items": [{"sku": line.sku, "quantity": line.quantity} for line in order.items.all()],
                "currency": order.currency,
                "deadline_seconds": deadline,
            },
            started_at=order.created_at,
            attempts=1,
            next_attempt_at=order.created_at,
        )


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_outbox")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

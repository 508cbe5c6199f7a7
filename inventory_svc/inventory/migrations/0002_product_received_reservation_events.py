"""Product.received and the ReservationEvent ledger.

Rows that already exist get both from their current state, assuming the stock added up when this
ran: received = on_hand + what committed reservations took, and the events each reservation's status
implies (without the keys of the requests, which were not kept).
"""

from django.db import migrations, models
from django.db.models import Sum

# A reservation's status -> the events that led to it. A RELEASED reservation without lines is a tombstone.
IMPLIED_EVENTS = {
    "RESERVED": ("RESERVED",),
    "COMMITTED": ("RESERVED", "COMMITTED"),
    "RELEASED": ("RESERVED", "RELEASED"),
}


def backfill(apps, schema_editor):
    Product = apps.get_model("inventory", "Product")
    Reservation = apps.get_model("inventory", "Reservation")
    ReservationLine = apps.get_model("inventory", "ReservationLine")
    ReservationEvent = apps.get_model("inventory", "ReservationEvent")
    for product in Product.objects.all():
        sold = ReservationLine.objects.filter(product=product, reservation__status="COMMITTED").aggregate(
            total=Sum("quantity")
        )["total"]
        product.received = product.on_hand + (sold or 0)
        product.save(update_fields=["received"])
    events = []
    for reservation in Reservation.objects.order_by("created_at"):
        kinds = IMPLIED_EVENTS[reservation.status] if reservation.lines.exists() else ("RELEASED",)
        events += [ReservationEvent(order_id=reservation.order_id, kind=kind) for kind in kinds]
    ReservationEvent.objects.bulk_create(events)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReservationEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("order_id", models.UUIDField(db_index=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("RESERVED", "Reserved"),
                            ("COMMITTED", "Committed"),
                            ("RELEASED", "Released"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "idempotency_key",
                    models.CharField(blank=True, help_text="Of the request that made it.", max_length=255),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.AlterModelOptions(
            name="reservation",
            options={"ordering": ["-created_at", "order_id"]},
        ),
        migrations.AddField(
            model_name="product",
            name="received",
            field=models.PositiveIntegerField(
                default=0, help_text="Stock received when the product was created."
            ),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

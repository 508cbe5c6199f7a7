"""Account.deposited_cents and the PaymentEvent ledger.

Rows that already exist get both from their current state, assuming the books balanced when this
ran: deposited = balance + held + what the customer's captured payments moved to the merchant, and
the events each payment's status implies (without the keys of the requests, which were not kept).
"""

from django.db import migrations, models
from django.db.models import Sum

# A payment's status -> the events that led to it. A VOIDED payment of 0 cents is a tombstone.
IMPLIED_EVENTS = {
    "AUTHORIZED": ("AUTHORIZED",),
    "CAPTURED": ("AUTHORIZED", "CAPTURED"),
    "VOIDED": ("AUTHORIZED", "VOIDED"),
}


def backfill(apps, schema_editor):
    Account = apps.get_model("payments", "Account")
    Payment = apps.get_model("payments", "Payment")
    PaymentEvent = apps.get_model("payments", "PaymentEvent")
    for account in Account.objects.all():
        captured = Payment.objects.filter(customer_id=account.customer_id, status="CAPTURED").aggregate(
            total=Sum("amount_cents")
        )["total"]
        account.deposited_cents = account.balance_cents + account.held_cents + (captured or 0)
        account.save(update_fields=["deposited_cents"])
    events = []
    for payment in Payment.objects.order_by("created_at"):
        kinds = IMPLIED_EVENTS[payment.status] if payment.amount_cents else ("VOIDED",)
        events += [
            PaymentEvent(order_id=payment.order_id, kind=kind, amount_cents=payment.amount_cents)
            for kind in kinds
        ]
    PaymentEvent.objects.bulk_create(events)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_merchant_account"),
    ]

    operations = [
        migrations.CreateModel(
            name="PaymentEvent",
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
                            ("AUTHORIZED", "Authorized"),
                            ("CAPTURED", "Captured"),
                            ("VOIDED", "Voided"),
                        ],
                        max_length=16,
                    ),
                ),
                ("amount_cents", models.PositiveBigIntegerField()),
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
            name="payment",
            options={"ordering": ["-created_at", "id"]},
        ),
        migrations.AddField(
            model_name="account",
            name="deposited_cents",
            field=models.BigIntegerField(default=0, help_text="Paid in when the account was opened."),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

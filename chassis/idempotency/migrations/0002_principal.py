"""Idempotency keys are scoped per caller: (principal, endpoint, key). Rows from before carry no
principal and can no longer be matched by any caller."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("idempotency", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="idempotencyrecord", name="idempotency_scope_key_unique"),
        migrations.AddField(
            model_name="idempotencyrecord",
            name="principal",
            field=models.CharField(
                default="", help_text="The caller the key belongs to, e.g. customer:alice.", max_length=200
            ),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(
                fields=("principal", "scope", "key"), name="idempotency_principal_scope_key_unique"
            ),
        ),
    ]

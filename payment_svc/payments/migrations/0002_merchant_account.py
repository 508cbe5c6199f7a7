from django.db import migrations


def create_merchant(apps, schema_editor):
    apps.get_model("payments", "MerchantAccount").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunPython(create_merchant, migrations.RunPython.noop)]

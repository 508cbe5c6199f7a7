"""`manage.py purge_idempotency_records`: records older than the retention go, younger ones stay, and
a retention shorter than a day is refused."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from chassis.idempotency.models import IdempotencyRecord
from chassis.idempotency.services import idempotency_records_purge
from chassis.settings import service_settings

pytestmark = pytest.mark.django_db


def record(key: str, age: timedelta) -> IdempotencyRecord:
    made = IdempotencyRecord.objects.create(
        principal="customer:alice", scope="POST /api/v1/x", key=key, fingerprint="f"
    )
    # created_at is set on insert; age the row afterwards, as time would.
    IdempotencyRecord.objects.filter(pk=made.pk).update(created_at=timezone.now() - age)
    return made


def test_records_older_than_the_retention_are_deleted(settings, capsys):
    settings.IDEMPOTENCY_RETENTION_HOURS = 48
    for n in range(5):
        record(f"old-{n}", timedelta(hours=49))
    record("young", timedelta(hours=47))

    call_command("purge_idempotency_records")

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]
    assert "deleted 5 idempotency records older than 48 h" in capsys.readouterr().out


def test_the_purge_takes_as_many_batches_as_there_are_old_records():
    for n in range(5):
        record(f"old-{n}", timedelta(days=3))
    assert idempotency_records_purge(older_than=timedelta(days=2), batch_size=2) == 5
    assert not IdempotencyRecord.objects.exists()


def test_a_run_may_keep_records_longer_but_never_shorter_than_a_day():
    record("two-days", timedelta(hours=50))
    call_command("purge_idempotency_records", older_than_hours=72)
    assert IdempotencyRecord.objects.filter(key="two-days").exists()

    with pytest.raises(CommandError, match="at least 24"):
        call_command("purge_idempotency_records", older_than_hours=23)
    assert IdempotencyRecord.objects.filter(key="two-days").exists()


@pytest.mark.parametrize("value", ["23", "a week", "-1"])
def test_a_retention_setting_shorter_than_a_day_or_not_a_number_is_refused(value, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="IDEMPOTENCY_RETENTION_HOURS"):
        service_settings(
            name="x",
            base_dir=tmp_path,
            apps=["x"],
            environ={"IDEMPOTENCY_RETENTION_HOURS": value, "SAGA_VAR_DIR": str(tmp_path)},
        )

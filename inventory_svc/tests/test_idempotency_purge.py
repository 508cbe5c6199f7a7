"""The purge of expired idempotency records, by `manage.py purge_idempotency_records` and by the saga's
`POST /internal/v1/idempotency-records/purge`: records older than the retention go, younger ones stay,
a retention shorter than a day (or than the setting, over HTTP) is refused, and so is bad input."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from chassis.idempotency.models import IdempotencyRecord
from chassis.idempotency.services import idempotency_records_purge
from chassis.settings import service_settings
from chassis.testing import assert_error

pytestmark = pytest.mark.django_db


def record(key: str, age: timedelta, *, written: timedelta | None = None) -> IdempotencyRecord:
    """A record made `age` ago and last written `written` ago (as long ago as it was made unless said)."""
    made = IdempotencyRecord.objects.create(
        principal="customer:alice", scope="POST /api/v1/x", key=key, fingerprint="f"
    )
    # Both times are set on insert; age the row afterwards, as time would.
    now = timezone.now()
    IdempotencyRecord.objects.filter(pk=made.pk).update(
        created_at=now - age, updated_at=now - (age if written is None else written)
    )
    return made


def test_records_older_than_the_retention_are_deleted(settings, capsys):
    settings.IDEMPOTENCY_RETENTION_HOURS = 48
    for n in range(5):
        record(f"old-{n}", timedelta(hours=49))
    record("young", timedelta(hours=47))

    call_command("purge_idempotency_records")

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]
    assert "deleted 5 idempotency records older than 48 h" in capsys.readouterr().out


def test_a_claim_taken_over_lately_is_kept_however_old_it_is(settings):
    """A request still in flight keeps its record, so a duplicate of it meets 409, never a second
    effect: the purge goes by when a record was last written, which a takeover renews."""
    settings.IDEMPOTENCY_RETENTION_HOURS = 48
    record("retried-just-now", timedelta(hours=60), written=timedelta(minutes=1))
    record("abandoned", timedelta(hours=60))

    assert idempotency_records_purge(older_than=timedelta(hours=48)) == 1
    assert list(IdempotencyRecord.objects.values_list("key", "state")) == [("retried-just-now", "IN_FLIGHT")]


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


@pytest.mark.parametrize("value", ["23", "a week", "-1", "99999999"])
def test_a_retention_setting_shorter_than_a_day_longer_than_ten_years_or_not_a_number_is_refused(
    value, tmp_path
):
    with pytest.raises(ImproperlyConfigured, match="IDEMPOTENCY_RETENTION_HOURS"):
        service_settings(
            name="x",
            base_dir=tmp_path,
            apps=["x"],
            environ={"IDEMPOTENCY_RETENTION_HOURS": value, "SAGA_VAR_DIR": str(tmp_path)},
        )


PURGE = "/internal/v1/idempotency-records/purge"


def test_the_saga_purges_the_records_older_than_the_retention_over_http(settings, saga):
    settings.IDEMPOTENCY_RETENTION_HOURS = 48
    for n in range(3):
        record(f"old-{n}", timedelta(hours=49))
    record("young", timedelta(hours=47))

    r = saga.post(PURGE, {})

    assert r.status_code == 200, r.content
    assert r.json() == {"deleted": 3, "older_than_hours": 48}
    # The purge's own key is a record too, and a fresh one: it stays with the young record.
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == sorted(
        ["young", r.wsgi_request.headers["Idempotency-Key"]]
    )


def test_a_purge_may_keep_records_longer_than_the_retention_but_never_shorter(settings, saga):
    settings.IDEMPOTENCY_RETENTION_HOURS = 48
    record("three-days", timedelta(hours=72))
    record("two-and-a-half-days", timedelta(hours=60))

    assert saga.post(PURGE, {"older_than_hours": 66}).json() == {"deleted": 1, "older_than_hours": 66}
    assert IdempotencyRecord.objects.filter(key="two-and-a-half-days").exists()

    r = saga.post(PURGE, {"older_than_hours": 47})
    assert_error(r, 422, "shorter_than_retention")
    assert r.json()["details"] == {"retention_hours": 48}
    assert IdempotencyRecord.objects.filter(key="two-and-a-half-days").exists()


def test_the_same_key_answers_the_first_purge_again_and_deletes_nothing_more(saga):
    record("old", timedelta(days=8))
    first = saga.post(PURGE, {}, key="purge-1")
    record("old-too", timedelta(days=8))
    again = saga.post(PURGE, {}, key="purge-1")

    assert first.json()["deleted"] == 1
    assert again.content == first.content
    assert IdempotencyRecord.objects.filter(key="old-too").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"older_than_hours": "200"},
        {"older_than_hours": 200.5},
        {"older_than_hours": True},
        {"older_than_hours": None},
        {"older_than_hours": -1},
        {"older_than_hours": 10**30},
        {"older_than_hours": 200, "everything": True},
        [],
        "purge",
        7,
    ],
    ids=repr,
)
def test_a_malformed_purge_is_400_in_the_error_shape_and_deletes_nothing(saga, body):
    record("old", timedelta(days=8))
    r = saga.post(PURGE, body)
    assert_error(r, 400, "validation_error")
    assert IdempotencyRecord.objects.filter(key="old").exists()


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe"], ids=["truncated", "not-utf8"])
def test_a_purge_body_that_is_not_json_is_400(saga, raw):
    record("old", timedelta(days=8))
    assert_error(saga.post(PURGE, raw=raw), 400, "malformed_json")
    assert IdempotencyRecord.objects.filter(key="old").exists()


def test_a_purge_without_an_idempotency_key_is_refused(saga):
    record("old", timedelta(days=8))
    assert_error(saga.post(PURGE, {}, key=""), 400, "idempotency_key_missing")
    assert IdempotencyRecord.objects.filter(key="old").exists()

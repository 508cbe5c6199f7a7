"""Sending: each due notification is claimed, sent through Django's email backend and marked SENT;
a failed send is counted, explained and tried again later with backoff until it goes out, exactly
once; a notification another sender holds is left alone until its lease lapses."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from notifications.models import Notification
from notifications.services import _retry_later, notification_claim_next, notification_send_due, retry_delay
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.factories import TRACEPARENT, cancelled, notification_create

pytestmark = pytest.mark.django_db


def make_due(notification):
    """Time passes: the notification's next attempt falls due."""
    Notification.objects.filter(pk=notification.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_due_notification_is_sent_and_marked_sent(mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "orders@shop.example"
    notification = notification_create()
    before = timezone.now()

    assert notification_send_due() == 1

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert before <= notification.sent_at <= timezone.now()
    assert notification.attempts == 1
    assert notification.last_error == ""
    [email] = mailoutbox
    message = email.message()
    assert message["Message-ID"] == f"<{notification.id}@notification_svc.saga>"
    assert message["X-Order-Id"] == str(notification.order_id)
    assert message["X-Event-Id"] == str(notification.event_id)
    assert message["To"] == "alice@customers.invalid"
    assert message["From"] == "orders@shop.example"
    assert message["Subject"] == notification.subject
    assert email.body == notification.body_text
    assert email.alternatives == [(notification.body_html, "text/html")]

    assert notification_send_due() == 0, "sent once"
    assert len(mailoutbox) == 1


def test_a_failed_send_stays_pending_and_goes_out_exactly_once_when_it_falls_due(
    failing_sends, mailoutbox, settings
):
    settings.NOTIFICATION_RETRY_FIRST_SECONDS = 10
    failing_sends(1)
    notification = notification_create()
    before = timezone.now()

    assert notification_send_due() == 0

    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 1
    assert notification.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert notification.sent_at is None
    assert (
        before + timedelta(seconds=5)
        <= notification.next_attempt_at
        <= timezone.now() + timedelta(seconds=10)
    )
    assert notification_send_due() == 0, "not due yet"
    assert mailoutbox == []

    make_due(notification)
    assert notification_send_due() == 1
    assert notification_send_due() == 0

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 2
    assert notification.last_error.startswith("SMTPServerDisconnected"), "the last failure stays on record"
    assert [m.extra_headers["Message-ID"] for m in mailoutbox] == [
        f"<{notification.id}@notification_svc.saga>"
    ]


def test_every_retry_waits_longer_up_to_the_maximum_and_it_never_gives_up(
    failing_sends, mailoutbox, settings
):
    settings.NOTIFICATION_RETRY_FIRST_SECONDS = 1
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 8
    failing_sends(6)
    notification = notification_create()
    waits = []
    for _ in range(6):
        make_due(notification)
        started = timezone.now()
        assert notification_send_due() == 0
        notification.refresh_from_db()
        waits.append((notification.next_attempt_at - started).total_seconds())

    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(
        ceiling / 2 - 0.1 <= wait <= ceiling + 0.1 for wait, ceiling in zip(waits, ceilings, strict=True)
    ), waits
    assert notification.attempts == 6
    make_due(notification)
    assert notification_send_due() == 1
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(
    ("failures", "low", "high"), [(1, 0.5, 1), (2, 1, 2), (4, 4, 8), (7, 30, 60), (500, 30, 60)]
)
def test_the_backoff_doubles_with_jitter_up_to_its_maximum(settings, failures, low, high):
    settings.NOTIFICATION_RETRY_FIRST_SECONDS = 1
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 60
    delays = {retry_delay(failures=failures).total_seconds() for _ in range(50)}
    assert all(low <= delay <= high for delay in delays)
    assert len(delays) > 1, "jittered"


def test_a_notification_another_sender_holds_is_left_alone_until_its_lease_lapses(mailoutbox):
    held, other = notification_create(), notification_create(cancelled())
    Notification.objects.filter(pk=other.pk).update(next_attempt_at=timezone.now() + timedelta(days=1))
    make_due(held)
    claim = notification_claim_next(lease_seconds=30)  # another sender, still sending
    assert claim.notification.pk == held.pk

    assert notification_send_due() == 0
    assert mailoutbox == []

    make_due(held)  # that sender died: its lease lapsed
    assert notification_send_due() == 1
    assert [m.extra_headers["X-Event-Id"] for m in mailoutbox] == [str(held.event_id)]


def test_a_sender_whose_lease_lapsed_does_not_overwrite_the_new_holders_schedule(failing_sends):
    failing_sends(1)
    notification = notification_create()
    late = notification_claim_next(lease_seconds=30)
    make_due(notification)
    current = notification_claim_next(lease_seconds=30)
    assert current.notification.pk == late.notification.pk

    _retry_later(late, error="late failure")

    notification.refresh_from_db()
    assert notification.attempts == 0
    assert notification.last_error == ""
    assert notification.next_attempt_at == current.lease_until


def test_one_call_sends_at_most_limit_oldest_due_first(mailoutbox):
    notifications = [notification_create() for _ in range(3)]
    for age, notification in enumerate(notifications, start=1):
        Notification.objects.filter(pk=notification.pk).update(
            next_attempt_at=timezone.now() - timedelta(minutes=age)
        )

    assert notification_send_due(limit=2) == 2
    assert [m.extra_headers["X-Event-Id"] for m in mailoutbox] == [
        str(notifications[2].event_id),
        str(notifications[1].event_id),
    ]
    assert notification_send_due(limit=2) == 1


def test_the_embedded_default_writes_each_email_to_a_file(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    notification = notification_create()

    assert notification_send_due() == 1

    [written] = (tmp_path / "mail").iterdir()
    content = written.read_text()
    assert f"Message-ID: <{notification.id}@notification_svc.saga>" in content
    assert "Content-Type: text/html" in content


@pytest.fixture
def recorded_spans():
    """The spans this process finishes from now on, whichever tracer provider it has by now."""
    spans = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        trace.set_tracer_provider(TracerProvider())
        provider = trace.get_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield spans
    spans.shutdown()


def test_the_send_is_a_span_of_the_orders_trace(mailoutbox, recorded_spans):
    notification = notification_create(traceparent=TRACEPARENT)

    notification_send_due()

    [span] = [s for s in recorded_spans.get_finished_spans() if s.name == "notification: send email"]
    assert f"{span.context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    assert f"{span.parent.span_id:016x}" == TRACEPARENT.split("-")[2]
    assert span.attributes["saga.order_id"] == str(notification.order_id)


def test_without_a_backend_that_accepts_it_nothing_is_lost(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1  # nothing listens
    notification = notification_create()

    assert notification_send_due() == 0

    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 1
    assert "ConnectionRefusedError" in notification.last_error
    assert mail.outbox == []

"""`manage.py notify` as it runs beside the service: it takes the order events and the registrations
from the service's queue on the embedded broker (kombu's filesystem transport), drops a second copy of
an event, writes each customer's email once, to the registered address when there is one, and stops on
SIGTERM with exit code 0."""

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from chassis.testing import manage_py_process, publish_on_filesystem
from tests.factories import TRACEPARENT, cancelled, confirmed, registered

SERVICE = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict) -> subprocess.Popen:
    return manage_py_process(SERVICE, *args, env=env)


def publish(folder: Path, *events) -> None:
    """Publish as the events' publishers would: to the publishing service's exchange, the event type as
    routing key."""
    publish_on_filesystem(folder, *events, headers={"traceparent": TRACEPARENT})


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def prepared(var_dir: Path) -> dict:
    """The environment of the service's processes, with the database migrated and the broker declared."""
    env = {"PATH": os.environ["PATH"], "SAGA_VAR_DIR": str(var_dir), "OTEL_SDK_DISABLED": "true"}
    for setup in (("migrate", "--no-input"), ("declare_broker",)):
        done = run(*setup, env=env)
        output, _ = done.communicate(timeout=60)
        assert done.returncode == 0, output
    return env


def written(mail: Path) -> list[str]:
    """The emails written to `mail` in full: Django's file backend creates a message's file before it
    writes the message, and ends the message with a line of 79 dashes."""
    if not mail.is_dir():
        return []
    texts = [path.read_text() for path in mail.iterdir()]
    return [text for text in texts if text.endswith("-" * 79 + "\n")]


def contacts(var_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(var_dir / "notification.sqlite3") as database:
        return database.execute("SELECT customer_id, email FROM notifications_customercontact").fetchall()


def test_the_notifier_emails_each_order_event_once_and_stops_cleanly(tmp_path):
    env = prepared(tmp_path)
    confirmed_event, cancelled_event = confirmed(customer_id="alice"), cancelled(customer_id="bob")
    publish(tmp_path / "broker", confirmed_event, cancelled_event, confirmed_event)

    notifier = run("notify", env=env)
    try:
        mail = tmp_path / "mail"
        assert wait_for(lambda: mail.is_dir() and len(list(mail.iterdir())) >= 2, 30), "no email written"
        time.sleep(1.5)  # the copy of the first event has had its chance to make a second email
        emails = sorted(path.read_text() for path in mail.iterdir())
    finally:
        notifier.send_signal(signal.SIGTERM)
        output, _ = notifier.communicate(timeout=30)

    assert notifier.returncode == 0, output
    assert len(emails) == 2, emails
    assert any(
        "To: alice@customers.invalid" in email and f"X-Event-Id: {confirmed_event['id']}" in email
        for email in emails
    )
    assert any("To: bob@customers.invalid" in email and "was cancelled" in email for email in emails)
    assert '"message": "notifier stopped"' in output


def test_the_notifier_learns_a_registered_address_and_mails_the_customer_there(tmp_path):
    env = prepared(tmp_path)
    publish(tmp_path / "broker", registered(customer_id="alice", email="alice.smith@example.com"))

    notifier = run("notify", env=env)
    try:
        assert wait_for(lambda: contacts(tmp_path) == [("alice", "alice.smith@example.com")], 30)
        publish(tmp_path / "broker", confirmed(customer_id="alice"))
        mail = tmp_path / "mail"
        assert wait_for(lambda: written(mail), 30), "no email written"
        [email] = written(mail)
    finally:
        notifier.send_signal(signal.SIGTERM)
        output, _ = notifier.communicate(timeout=30)

    assert notifier.returncode == 0, output
    assert "To: alice.smith@example.com" in email

"""`manage.py consume_events` as it runs beside the service, on the embedded broker (kombu's filesystem
transport): it opens the account of each registered customer once, hands a registration it cannot
read to the dead-letter queue after MAX_HANDLING_FAILURES failures without copying it to the other
queues bound to the same routing key, and stops on SIGTERM with exit code 0."""

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from chassis.events.broker import broker_connection, consumer_queue, dead_letter_queue
from chassis.testing import manage_py_process, publish_on_filesystem
from saga_contract.events import MAX_HANDLING_FAILURES, NOTIFICATION_QUEUE, PAYMENT_QUEUE, EventType
from tests.factories import registered

SERVICE = Path(__file__).resolve().parents[1]
BROKER = "filesystem://"


def run(*args: str, env: dict) -> subprocess.Popen:
    return manage_py_process(SERVICE, *args, env=env)


def publish(folder: Path, *events) -> None:
    """Publish as identity_svc's publisher would: to its exchange, the event type as routing key."""
    publish_on_filesystem(folder, *events)


def wait_for(condition, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.1)
    return condition()


def accounts(var_dir: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(var_dir / "payment.sqlite3") as database:
        return database.execute("SELECT customer_id, balance_cents FROM payments_account").fetchall()


def test_the_consumer_opens_each_account_once_and_dead_letters_what_it_cannot_read(tmp_path):
    env = {"PATH": os.environ["PATH"], "SAGA_VAR_DIR": str(tmp_path), "OTEL_SDK_DISABLED": "true"}
    for setup in (("migrate", "--no-input"), ("declare_broker",)):
        done = run(*setup, env=env)
        output, _ = done.communicate(timeout=60)
        assert done.returncode == 0, output
    carol = registered(customer_id="carol")
    unreadable = registered(customer_id="dave", email="Dave@Example.com")
    folder = tmp_path / "broker"
    publish(folder, carol, unreadable, carol)

    consumer = run("consume_events", env=env)
    try:
        with broker_connection(BROKER, folder) as connection:
            dead_letters = dead_letter_queue(BROKER)(connection.channel())
            dead = wait_for(lambda: dead_letters.get(no_ack=True), 30)
        assert dead is not None, "nothing dead-lettered"
        assert wait_for(lambda: accounts(tmp_path), 30), "no account opened"
        time.sleep(1)  # the copy of carol's registration has had its chance to open a second account
    finally:
        consumer.send_signal(signal.SIGTERM)
        output, _ = consumer.communicate(timeout=30)

    assert consumer.returncode == 0, output
    assert accounts(tmp_path) == [("carol", 50_000)]
    assert dead.properties["message_id"] == unreadable["id"]
    assert dead.headers["x-failures"] == MAX_HANDLING_FAILURES
    assert dead.headers["x-first-queue"] == PAYMENT_QUEUE
    assert dead.headers["x-first-routing-key"] == EventType.CUSTOMER_REGISTERED
    assert "email" in dead.headers["x-failure"]
    assert '"message": "payment consumer stopped"' in output
    # notification_svc's queue got each registration once, when it was published, and none of the
    # copies the consumer put back on its own queue.
    with broker_connection(BROKER, folder) as connection:
        notification_queue = consumer_queue(NOTIFICATION_QUEUE, BROKER)(connection.channel())
        received = []
        while (message := notification_queue.get(no_ack=True)) is not None:
            received.append(message.properties["message_id"])
    assert sorted(received) == sorted([carol["id"], unreadable["id"], carol["id"]])

"""The embedded broker's transport (chassis/events/filesystem.py): a consumer never sees a message
before it is written whole, and none is lost or delivered twice when one publishes while another
consumes."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Queue
from kombu.transport import filesystem as kombu_filesystem

from chassis.events import filesystem


def _names() -> tuple[Exchange, Queue]:
    """An exchange and a queue bound to it, named for one test: kombu keeps the bindings it has
    made in the process's memory, and would not write them into a second test's folder."""
    tag = uuid.uuid4().hex[:8]
    exchange = Exchange(f"orders-{tag}", type="direct")
    return exchange, Queue(f"notes-{tag}", exchange, routing_key="order.placed")


def _connection(folder: Path, transport: type) -> Connection:
    (folder / "messages").mkdir(parents=True, exist_ok=True)
    options = {
        "data_folder_in": str(folder / "messages"),
        "data_folder_out": str(folder / "messages"),
        "control_folder": str(folder / "control"),
        "polling_interval": 0.01,
    }
    return Connection("filesystem://", transport=transport, transport_options=options)


def _visible_while_writing(module, transport: type, folder: Path, monkeypatch) -> list[str]:
    """The message files a consumer would take, listed at the moment the payload is being encoded:
    after the publisher has opened its file, before the bytes are in it."""
    exchange, queue = _names()
    seen: list[str] = []
    encode = module.dumps

    def listing_dumps(payload):
        seen.extend(name.name for name in (folder / "messages").iterdir() if name.name.endswith(".msg"))
        return encode(payload)

    monkeypatch.setattr(module, "dumps", listing_dumps)
    with _connection(folder, transport) as connection, connection.Producer() as producer:
        producer.publish({"n": 1}, exchange=exchange, routing_key="order.placed", declare=[queue])
    return seen


def test_kombus_own_transport_shows_a_consumer_an_empty_message_file(tmp_path, monkeypatch):
    """The hazard this transport exists for, shown on kombu's own."""
    assert _visible_while_writing(kombu_filesystem, kombu_filesystem.Transport, tmp_path, monkeypatch)


def test_a_message_is_invisible_to_consumers_until_it_is_whole(tmp_path, monkeypatch):
    assert _visible_while_writing(filesystem, filesystem.Transport, tmp_path, monkeypatch) == []
    [written] = (tmp_path / "messages").iterdir()
    assert written.name.endswith(".msg"), "and whole once published"


def test_published_while_consumed_every_message_arrives_once(tmp_path):
    count = 500
    exchange, queue_ = _names()

    def publish() -> None:
        with _connection(tmp_path, filesystem.Transport) as connection, connection.Producer() as producer:
            for number in range(count):
                producer.publish(
                    {"n": number}, exchange=exchange, routing_key="order.placed", declare=[queue_]
                )

    publisher = threading.Thread(target=publish)
    received: list[int] = []
    with _connection(tmp_path, filesystem.Transport) as connection, connection.SimpleQueue(queue_) as queue:
        publisher.start()
        for _ in range(count * 4):  # bounded: each get waits at most a second
            if len(received) == count:
                break
            try:
                message = queue.get(timeout=1)
            except queue.Empty:
                continue
            received.append(message.payload["n"])
            message.ack()
    publisher.join(timeout=30)
    assert sorted(received) == list(range(count))  # messages of one millisecond may swap places

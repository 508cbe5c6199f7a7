"""What every test layer under tests/ shares: where RabbitMQ answers on 127.0.0.1:5672 (CI has one),
every stack a test starts sends its events there (SAGA_RABBITMQ_URL, each stack in a virtual host of
its own); elsewhere they use the embedded transport. A test that proves the embedded default asks
for it by name."""

import os

from tests.support.broker import rabbitmq_url


def pytest_configure() -> None:
    url = rabbitmq_url()
    if url is not None:
        os.environ.setdefault("SAGA_RABBITMQ_URL", url)

"""Fixtures of the end-to-end tests: one real stack per session (Temporal dev server, the four services
under gunicorn, the relay, the event publishers, the notifier, the worker) on free ports with a
temporary var dir, its events on RabbitMQ where one answers (tests/conftest.py) and its mail to a
real SMTP server of the session's own, and the API helper bound to it. Tests share the stack, so they
create their own products and customers (see tests.support.api.unique).
"""

from collections.abc import Iterator

import pytest

from infra.mail import MailSink
from infra.stack import Stack, StackConfig
from tests.support.api import Api


@pytest.fixture(scope="session")
def mail() -> Iterator[MailSink]:
    """The SMTP server the stack's notifier sends to; every message it accepted is in `messages()`."""
    with MailSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, mail: MailSink) -> Iterator[Stack]:
    """The running stack: order_url, payment_url, inventory_url, temporal_address, ui_url,
    config (var_dir, log_dir) and processes (name -> ManagedProcess). Stopped after the session."""
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("stack"), tuning=mail.environment())
    with Stack(config) as running:
        yield running


@pytest.fixture
def api(stack: Stack) -> Iterator[Api]:
    with Api.for_stack(stack) as client:
        yield client

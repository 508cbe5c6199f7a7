"""Fixtures of the end-to-end tests: one real stack per session (Temporal dev server, the three services
under gunicorn, the worker) on free ports with a temporary var dir, and the API helper bound to it.
Tests share the stack, so they create their own products and customers (see tests.support.api.unique).
"""

from collections.abc import Iterator

import pytest

from infra.stack import Stack, StackConfig
from tests.support.api import Api


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running stack: order_url, payment_url, inventory_url, temporal_address, ui_url,
    config (var_dir, log_dir) and processes (name -> ManagedProcess). Stopped after the session."""
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("stack"))
    with Stack(config) as running:
        yield running


@pytest.fixture
def api(stack: Stack) -> Iterator[Api]:
    with Api.for_stack(stack) as client:
        yield client

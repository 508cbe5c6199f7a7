import pytest
from django.core.management import call_command
from orders.saga_gateway import saga_gateway, saga_gateway_close

pytest_plugins = ["chassis.testing"]


@pytest.fixture(autouse=True)
def sagas(settings):
    """Every test gets a fresh fake in place of Temporal (tests.fakes.FakeSagaGateway): `sagas.started`
    lists the sagas started, `sagas.calls` every call. (`saga` is the saga's API client, from
    chassis.testing.) The relay starts one saga at a time, in the test's own thread."""
    settings.ORDER_SAGA_GATEWAY = "tests.fakes.FakeSagaGateway"
    settings.OUTBOX_RELAY_CONCURRENCY = 1
    saga_gateway_close()
    yield saga_gateway()
    saga_gateway_close()


@pytest.fixture
def relay_once():
    """Run `manage.py relay_outbox --once` in this process."""
    return lambda: call_command("relay_outbox", "--once")

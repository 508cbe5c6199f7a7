import pytest

from orders.saga import saga_starter

pytest_plugins = ["chassis.testing"]


@pytest.fixture(autouse=True)
def sagas(settings):
    """Every test gets a fresh recording starter in place of Temporal: `sagas.started` lists the sagas
    started. (`saga` is the saga's API client, from chassis.testing.)"""
    settings.ORDER_SAGA_STARTER = "tests.fakes.RecordingSagaStarter"
    saga_starter.cache_clear()
    yield saga_starter()
    saga_starter.cache_clear()

"""Where a stack on PostgreSQL keeps each service's data: a database per service on the server it
is given, named after the stack; a URL that is not a PostgreSQL server's is refused at once."""

import pytest

from infra.databases import database_urls, server_url
from infra.stack import ConfigError, StackConfig


def test_each_service_gets_a_database_of_its_own_on_the_server() -> None:
    assert database_urls("postgres://saga:pw@db.example:5433/ignored?sslmode=require", "saga") == {
        "inventory_svc": "postgres://saga:pw@db.example:5433/saga_inventory",
        "payment_svc": "postgres://saga:pw@db.example:5433/saga_payment",
        "order_svc": "postgres://saga:pw@db.example:5433/saga_orders",
        "notification_svc": "postgres://saga:pw@db.example:5433/saga_notification",
        "identity_svc": "postgres://saga:pw@db.example:5433/saga_identity",
    }


@pytest.mark.parametrize("url", ["mysql://root@db/x", "postgres://", "db.example:5432", "sqlite:///tmp/x"])
def test_what_is_not_a_postgresql_server_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL server URL"):
        server_url(url)
    with pytest.raises(ConfigError, match="not a PostgreSQL server URL"):
        StackConfig(postgres_url=url)


def test_a_database_url_given_for_a_service_wins_over_the_server(tmp_path) -> None:
    config = StackConfig.from_env(
        {
            "SAGA_POSTGRES_URL": "postgres://postgres@127.0.0.1:5432",
            "ORDER_DATABASE_URL": "postgres://o@elsewhere/orders",
        },
        var_dir=tmp_path,
    )
    assert config.database_urls == {
        "inventory_svc": "postgres://postgres@127.0.0.1:5432/saga_inventory",
        "payment_svc": "postgres://postgres@127.0.0.1:5432/saga_payment",
        "order_svc": "postgres://o@elsewhere/orders",
        "notification_svc": "postgres://postgres@127.0.0.1:5432/saga_notification",
        "identity_svc": "postgres://postgres@127.0.0.1:5432/saga_identity",
    }
    stack_of_its_own = StackConfig.on_free_ports(tmp_path, postgres_url="postgres://postgres@127.0.0.1:5432")
    assert stack_of_its_own.drop_databases
    assert stack_of_its_own.database_urls["order_svc"].endswith(
        f"/saga_stack{stack_of_its_own.temporal_port}_orders"
    )

import pytest

from payments.models import Account

pytest_plugins = ["chassis.testing"]


@pytest.fixture
def make_account(db):
    def make(customer_id="alice", balance_cents=10_000, **extra):
        return Account.objects.create(
            customer_id=customer_id, balance_cents=balance_cents, deposited_cents=balance_cents, **extra
        )

    return make

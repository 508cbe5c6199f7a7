import pytest
from payments.models import Account, MerchantAccount

pytest_plugins = ["chassis.testing"]


@pytest.fixture
def make_account(db):
    def make(customer_id="alice", balance_cents=10_000, **extra):
        return Account.objects.create(
            customer_id=customer_id, balance_cents=balance_cents, deposited_cents=balance_cents, **extra
        )

    return make


@pytest.fixture
def merchant(db) -> MerchantAccount:
    """The merchant's account: a data migration makes it, but a transactional test's flush takes it away."""
    return MerchantAccount.objects.get_or_create(pk=MerchantAccount.SINGLETON_ID)[0]

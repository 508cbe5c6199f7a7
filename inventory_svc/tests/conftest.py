import pytest
from inventory.models import Product

pytest_plugins = ["chassis.testing"]


@pytest.fixture
def make_product(db):
    def make(sku="SKU-1", name="Widget", price_cents=1000, on_hand=10, **extra):
        return Product.objects.create(
            sku=sku, name=name, price_cents=price_cents, on_hand=on_hand, received=on_hand, **extra
        )

    return make

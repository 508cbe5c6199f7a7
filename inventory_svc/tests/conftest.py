import uuid

import pytest
from rest_framework.test import APIClient

from inventory.models import Product


@pytest.fixture
def api():
    return ApiClient()


class ApiClient:
    """A thin wrapper over DRF's test client that adds an Idempotency-Key to POSTs."""

    def __init__(self) -> None:
        self.client = APIClient()

    def post(self, path, body=None, *, key: str | None = None, raw: bytes | None = None):
        headers = {"HTTP_IDEMPOTENCY_KEY": key or str(uuid.uuid4())} if key != "" else {}
        if raw is not None:
            return self.client.generic("POST", path, raw, content_type="application/json", **headers)
        return self.client.post(path, body if body is not None else {}, format="json", **headers)

    def get(self, path):
        return self.client.get(path)


@pytest.fixture
def make_product(db):
    def make(sku="SKU-1", name="Widget", price_cents=1000, on_hand=10, **extra):
        return Product.objects.create(sku=sku, name=name, price_cents=price_cents, on_hand=on_hand, **extra)

    return make

"""The operator console's reads on a real stack of this module's own (chaos on, breakers that open
after 3 failures): `GET /api/v1/operations/breakers` shows a breaker that a fault opened as `open`, as
the worker's own metrics endpoint does, and `closed` again once the service is back;
`GET /api/v1/operations/audit` answers exactly what the audit schedule's last run returned. On the way,
an operator places the order for a customer it names, and the public catalog is read without a token.
Every wait is bounded.
"""

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from infra.stack import Stack, StackConfig
from saga_contract import AUDIT_SCHEDULE_ID, AUDIT_WORKFLOW_TYPE, BREAKER_OPEN_METRIC, SAGA_SERVICES
from tests.support.api import Api, unique
from tests.support.schedules import run_once
from tests.support.waiting import wait_for

TUNING = {"BREAKER_FAIL_MAX": "3", "BREAKER_RESET_SECONDS": "2"}
AUTHORIZE = "/internal/v1/payments/authorize"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("operations-stack"), chaos=True, tuning=TUNING)
    with Stack(config) as running:
        yield running


@pytest.fixture
def api(stack: Stack) -> Iterator[Api]:
    """order_svc, inventory_svc and payment_svc with an operator's token."""
    with Api.for_stack(stack) as client:
        yield client


def breakers(api: Api) -> dict[str, str]:
    body = api.order.check(api.order.get("/api/v1/operations/breakers"))
    assert body["read_at"].endswith("Z")
    return {breaker["service"]: breaker["state"] for breaker in body["breakers"]}


def worker_says_open(stack: Stack, service: str) -> bool:
    """What the worker itself serves for `service`'s breaker: the truth the endpoint must tell."""
    text = httpx.get(stack.config.worker_metrics_url, timeout=10).text
    return any(
        sample.value >= 1
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == BREAKER_OPEN_METRIC and sample.labels.get("service") == service
    )


def test_a_breaker_opened_by_a_fault_reads_open_and_closed_again_after_recovery(api, stack):
    assert breakers(api) == dict.fromkeys(SAGA_SERVICES, "closed")
    sku = api.create_product(on_hand=10)["sku"]
    customer = api.create_account(unique("console"), balance_cents=100_000)["customer_id"]
    outage = {"error_rate": 1.0, "paths": [AUTHORIZE]}
    operator = {"Authorization": f"Bearer {stack.config.tokens().operator_token()}"}
    assert httpx.put(f"{stack.payment_url}/api/v1/faults", json=outage, headers=operator).status_code == 200
    try:
        # The operator orders for the customer it names, as the storefront's demo load does.
        order = api.order.check(
            api.order.post(
                "/api/v1/orders", {"customer_id": customer, "items": [{"sku": sku, "quantity": 1}]}
            )
        )
        assert (order["customer_id"], order["status"]) == (customer, "PENDING")
        wait_for(lambda: breakers(api)["payment_svc"] == "open", 30, "payment_svc's breaker read open")
        assert worker_says_open(stack, "payment_svc"), "the endpoint tells what the worker serves"
        assert breakers(api) == {"inventory_svc": "closed", "payment_svc": "open", "order_svc": "closed"}
    finally:
        assert httpx.delete(f"{stack.payment_url}/api/v1/faults", headers=operator).status_code == 204

    assert api.wait_for_final(order["id"], timeout=60)["status"] == "CONFIRMED"
    wait_for(lambda: breakers(api)["payment_svc"] == "closed", 30, "payment_svc's breaker read closed")
    assert not worker_says_open(stack, "payment_svc")


def test_the_last_audit_reads_what_the_scheduled_run_returned(api, stack):
    workflow_id, workflow_type, result = run_once(stack, AUDIT_SCHEDULE_ID)
    assert workflow_type == AUDIT_WORKFLOW_TYPE

    def last_audit() -> dict | None:
        return api.order.check(api.order.get("/api/v1/operations/audit"))["audit"]

    wait_for(
        lambda: (last_audit() or {}).get("workflow_id") == workflow_id, 30, f"{workflow_id} read as the last"
    )
    assert last_audit() == {
        "workflow_id": workflow_id,
        "status": "COMPLETED",
        "audited_at": result["audited_at"],
        "violations": result["violations"],
        "by_invariant": result["by_invariant"],
        "summary": result["report"],
        "message": None,
    }


def test_only_an_operator_reads_the_operations(api, stack):
    customer = api.keys.customer_token(unique("nosy"))
    for path in ("/api/v1/operations/breakers", "/api/v1/operations/audit"):
        assert httpx.get(f"{stack.order_url}{path}", timeout=10).status_code == 401
        refused = httpx.get(
            f"{stack.order_url}{path}", headers={"Authorization": f"Bearer {customer}"}, timeout=10
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")


def test_the_catalog_is_read_without_a_token_and_revalidated_with_its_etag(api, stack):
    sku = api.create_product(on_hand=2)["sku"]
    catalog = f"{stack.inventory_url}/api/v1/catalog"
    page = httpx.get(
        catalog, params={"page_size": "500"}, headers={"Authorization": "Bearer stale"}, timeout=10
    )

    assert page.status_code == 200
    assert page.headers["Cache-Control"].startswith("public, max-age=")
    entry = next(entry for entry in page.json()["results"] if entry["sku"] == sku)
    assert entry == {
        "sku": sku,
        "name": entry["name"],
        "price_cents": 1_000,
        "currency": "USD",
        "availability": "low_stock",
    }
    again = httpx.get(
        catalog, params={"page_size": "500"}, headers={"If-None-Match": page.headers["ETag"]}, timeout=10
    )
    assert (again.status_code, again.content) == (304, b"")

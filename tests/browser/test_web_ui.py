"""The sagas as a person sees them in the Temporal Web UI of a real stack: one customer's orders ending
in every way, filtered by the search attributes the saga keeps (CustomerId, OrderStatus), and a
cancelled saga's compensation in its event history. Screenshots are kept in var/test-artifacts/.
"""

import asyncio
import re
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect
from temporalio.client import Client

from infra.stack import Deployment, Stack, worker_version
from saga_contract import NAMESPACE, WORKER_DEPLOYMENT, Compensation, OrderStatus, SearchAttribute, Step
from saga_contract import workflow_id as saga_workflow_id
from tests.support.api import Api

WORKFLOW_ID_PREFIX = saga_workflow_id("")  # "order-"
LIST_VIEWPORT = {"width": 1680, "height": 560}  # the whole table, little empty space below it
VISIBILITY_TIMEOUT = 30.0  # seconds for Temporal's visibility to catch up with finished sagas


@dataclass(frozen=True)
class CustomerSagas:
    """One customer's finished orders by how they ended, and another customer's order beside them."""

    customer_id: str
    workflow_ids: dict[str, str]  # "confirmed", "out_of_stock", "payment_declined" -> workflow id
    other_workflow_id: str

    @property
    def cancelled(self) -> set[str]:
        return {self.workflow_ids["out_of_stock"], self.workflow_ids["payment_declined"]}


@pytest.fixture(scope="module")
def sagas(stack: Stack, api: Api) -> CustomerSagas:
    balance = 5_000
    plenty = api.create_product(price_cents=1_000, on_hand=10)["sku"]
    scarce = api.create_product(price_cents=500, on_hand=1)["sku"]
    pricey = api.create_product(price_cents=balance + 1_000, on_hand=5)["sku"]
    customer = api.create_account(balance_cents=balance)["customer_id"]
    other = api.create_account(balance_cents=balance)["customer_id"]

    placed = {
        "confirmed": api.place_order(customer, {plenty: 2}),
        "out_of_stock": api.place_order(customer, {scarce: 2}),
        "payment_declined": api.place_order(customer, {pricey: 1}),
    }
    other_order = api.place_order(other, {plenty: 1})
    final = {name: api.wait_for_final(order["id"], timeout=60) for name, order in placed.items()}
    assert api.wait_for_final(other_order["id"], timeout=60)["status"] == OrderStatus.CONFIRMED
    outcomes = {name: (order["status"], order["cancellation_reason"]) for name, order in final.items()}
    assert outcomes == {
        "confirmed": (OrderStatus.CONFIRMED, None),
        "out_of_stock": (OrderStatus.CANCELLED, "out_of_stock"),
        "payment_declined": (OrderStatus.CANCELLED, "payment_declined"),
    }

    sagas = CustomerSagas(
        customer_id=customer,
        workflow_ids={name: order["workflow_id"] for name, order in final.items()},
        other_workflow_id=other_order["workflow_id"],
    )
    _run_in_own_thread(
        _wait_until_visible(
            stack.temporal_address,
            {
                customer_query(customer, ExecutionStatus="Completed"): set(sagas.workflow_ids.values()),
                customer_query(
                    customer, **{SearchAttribute.ORDER_STATUS: OrderStatus.CANCELLED}
                ): sagas.cancelled,
            },
        )
    )
    return sagas


def customer_query(customer_id: str, **conditions: str) -> str:
    """A visibility query: this customer's sagas, and each of `conditions` (attribute=value)."""
    terms = {SearchAttribute.CUSTOMER_ID: customer_id, **conditions}
    return " AND ".join(f'{name}="{value}"' for name, value in terms.items())


def _run_in_own_thread(coroutine: Coroutine[Any, Any, None]) -> None:
    """asyncio.run in a thread of its own: sync Playwright keeps an event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _wait_until_visible(address: str, expected: dict[str, set[str]]) -> None:
    """Poll Temporal's visibility (eventually consistent) until each query lists exactly its ids."""
    seen: dict[str, set[str]] = {}
    try:
        async with asyncio.timeout(VISIBILITY_TIMEOUT):
            client = await Client.connect(address, namespace=NAMESPACE)
            while True:
                seen = {query: {wf.id async for wf in client.list_workflows(query)} for query in expected}
                if seen == expected:
                    return
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(
            f"Temporal's visibility after {VISIBILITY_TIMEOUT:g} s: {seen}, expected {expected}"
        ) from None


def workflow_list_url(ui_url: str, query: str) -> str:
    """The UI's workflow list of the namespace, filtered by a visibility query given in the URL."""
    return f"{ui_url}/namespaces/{NAMESPACE}/workflows?query={quote(query)}"


def listed_workflows(page: Page, expected_ids: set[str]) -> dict[str, str]:
    """Workflow id -> status of every row the list shows, once it shows `expected_ids` and as many rows."""
    for workflow_id in expected_ids:
        expect(page.get_by_role("link", name=workflow_id, exact=True)).to_be_visible()
    rows = page.get_by_test_id("workflows-summary-configurable-table-row")
    expect(rows).to_have_count(len(expected_ids))
    listed = {}
    for row in rows.all():
        workflow_id = row.locator(f'a[href*="/workflows/{WORKFLOW_ID_PREFIX}"]').first.inner_text().strip()
        listed[workflow_id] = (row.get_by_test_id("execution-status").text_content() or "").strip()
    return listed


def scheduled_activities(page: Page) -> list[str]:
    """The activity type of every Activity Task Scheduled event of the Event History tab, oldest first."""
    page.get_by_test_id("history-tab").click()
    events = page.get_by_test_id("event-summary-row")
    scheduled = events.filter(has_text="Activity Task Scheduled")
    expect(scheduled.first).to_be_visible()
    expect(events.filter(has_text="Workflow Execution Started")).to_have_count(1)  # all of it is shown
    types = [re.search(r"Activity Type\s+(\S+)", text) for text in scheduled.all_inner_texts()]
    assert all(types), scheduled.all_inner_texts()
    return [match[1] for match in reversed(types)]  # the tab lists the newest event first


def screenshot(page: Page, directory: Path, name: str) -> Path:
    path = directory / name
    page.screenshot(path=str(path))
    print(f"\nscreenshot: {path}")
    return path


def test_list_filtered_by_customer_shows_exactly_their_sagas(page, stack, sagas, artifact_dir):
    page.set_viewport_size(LIST_VIEWPORT)
    page.goto(workflow_list_url(stack.ui_url, customer_query(sagas.customer_id)))

    listed = listed_workflows(page, set(sagas.workflow_ids.values()))

    # Every saga completes as a workflow, cancelled orders too: the order's outcome is in OrderStatus.
    assert listed == dict.fromkeys(sagas.workflow_ids.values(), "Completed")
    assert sagas.other_workflow_id not in page.content()
    screenshot(page, artifact_dir, "web-ui-list-by-customer.png")


def test_list_filtered_by_customer_and_order_status_shows_the_cancelled_ones(
    page, stack, sagas, artifact_dir
):
    query = customer_query(sagas.customer_id, **{SearchAttribute.ORDER_STATUS: OrderStatus.CANCELLED})
    page.set_viewport_size(LIST_VIEWPORT)
    page.goto(workflow_list_url(stack.ui_url, query))

    listed = listed_workflows(page, sagas.cancelled)

    assert listed == dict.fromkeys(sagas.cancelled, "Completed")
    screenshot(page, artifact_dir, "web-ui-filtered.png")


def test_cancelled_saga_history_shows_its_compensation(page, stack, sagas, artifact_dir):
    workflow_id = sagas.workflow_ids["payment_declined"]
    page.set_viewport_size({"width": 1440, "height": 1600})  # tall enough for the compensation events
    page.goto(stack.config.workflow_url(workflow_id))
    expect(page.get_by_test_id("workflow-id-heading")).to_contain_text(workflow_id)

    activities = scheduled_activities(page)

    # Authorization was declined: both compensatable steps are undone, newest first, then the order cancelled.
    assert activities == [
        Step.RESERVE_STOCK,
        Step.AUTHORIZE_PAYMENT,
        Compensation.VOID_PAYMENT,
        Compensation.RELEASE_STOCK,
        Compensation.CANCEL_ORDER,
    ]
    compensation = page.get_by_test_id("event-summary-row").filter(has_text=Compensation.RELEASE_STOCK)
    compensation.scroll_into_view_if_needed()
    screenshot(page, artifact_dir, "web-ui-cancelled-saga.png")


def test_the_deployment_page_shows_the_current_version_and_a_ramping_one(page, stack, artifact_dir):
    """What docs/temporal.md shows of a rollout: the stack's version current, a second one ramping."""
    current = worker_version(stack.config, stack.processes["worker"].pid)
    second = stack.add_worker("browser-v2")
    deployment = Deployment(stack.temporal_address)
    deployment.ramp("browser-v2", 25)
    try:
        page.goto(f"{stack.ui_url}/namespaces/{NAMESPACE}/worker-deployments/{WORKER_DEPLOYMENT}")
        rows = page.get_by_role("row")
        expect(rows.filter(has_text=str(current))).to_contain_text("Current")
        expect(rows.filter(has_text="browser-v2")).to_contain_text("Ramping 25%")
        screenshot(page, artifact_dir, "web-ui-deployment.png")
    finally:
        deployment.stop_ramp()
        second.stop()

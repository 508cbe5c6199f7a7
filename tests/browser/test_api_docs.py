"""The order service's API documentation as a person uses it: Swagger UI, served from the service's
own files (no CDN: the page may only reach 127.0.0.1), authorized with a customer's token from
`sagactl token`, and "Try it out" on the list of that customer's orders. A screenshot is kept in
var/test-artifacts/.
"""

from playwright.sync_api import expect

from tests.support.api import unique


def test_swagger_ui_documents_the_api_and_tries_it_out_with_a_token(page, stack, api, artifact_dir):
    customer = api.create_account(unique("docs-reader"), balance_cents=10_000)["customer_id"]
    sku = api.create_product(price_cents=300, on_hand=5)["sku"]
    api.place_order(customer, {sku: 1})
    token = stack.config.tokens().customer_token(customer)

    page.goto(f"{stack.order_url}/api/docs/")
    expect(page.locator(".information-container .title")).to_contain_text("order_svc")
    for operation in ("orders-placeOrder", "orders-listOrders", "orders-getOrderSaga", "saga-confirmOrder"):
        expect(page.locator(f"#operations-{operation}")).to_be_visible()

    page.locator(".btn.authorize").click()
    page.locator(".auth-container input").fill(token)
    page.get_by_role("button", name="Apply credentials").click()
    page.get_by_role("button", name="Close").click()

    operation = page.locator("#operations-orders-listOrders")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    live = operation.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status").first).to_have_text("200")
    expect(live.locator(".microlight").first).to_contain_text(customer)

    operation.scroll_into_view_if_needed()
    path = artifact_dir / "swagger-ui-order-svc.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"\nscreenshot: {path}")

/** The shop's front screen: the public catalog and the cart, with "Place order". */

import type { AppContext, View } from "../app";
import { describeError } from "../api/errors";
import { isRetriable } from "../api/retry";
import type { Product } from "../api/types";
import { AVAILABILITY_WORDS, formatMoney } from "../format";
import { MAX_QUANTITY, type CartLine } from "../orders/cart";
import { field, fill, h, setFieldError, setText } from "../ui/dom";
import { orderHash } from "../ui/router";
import { screenHeading, statusRegion } from "./common";

export function shopView(app: AppContext): View {
  const catalogStatus = statusRegion();
  const catalog = h("ul", { class: "catalog", attrs: { "data-testid": "catalog", "aria-label": "Products" } });
  const addButtons: HTMLButtonElement[] = [];
  const cart = cartPanel(app, (busy) => addButtons.forEach((button) => (button.disabled = busy)));

  setText(catalogStatus, "Loading the catalog…");
  app.shop
    .catalog()
    .then((page) => {
      fill(catalog, page.results.map((product) => productCard(product)));
      setText(catalogStatus, page.results.length ? "" : "The catalog is empty.");
    })
    .catch((error: unknown) => {
      setText(catalogStatus, "The catalog could not be loaded.");
      app.alert.show(error);
    });

  function productCard(product: Product): HTMLLIElement {
    const button = h("button", {
      attrs: { type: "button", "aria-label": `Add ${product.name} to cart` },
      on: {
        click: () => {
          app.cart.add(product);
          cart.announce(`${product.name} is in the cart.`);
        },
      },
    }, "Add to cart");
    button.disabled = app.placement.busy;
    addButtons.push(button);
    return h("li", { class: "product", attrs: { "data-sku": product.sku } },
      h("h3", null, product.name),
      h("p", { class: "price" }, formatMoney(product.price_cents, product.currency)),
      h("p", { class: `availability availability-${product.availability}` },
        AVAILABILITY_WORDS[product.availability] ?? product.availability),
      button,
    );
  }

  const element = h("div", { class: "shop" },
    screenHeading("Shop"),
    h("div", { class: "shop-grid" },
      h("section", { class: "catalog-section", attrs: { "aria-labelledby": "catalog-heading" } },
        h("h2", { attrs: { id: "catalog-heading" } }, "Catalog"),
        catalogStatus,
        catalog,
      ),
      cart.element,
    ),
  );
  return { element, dispose: cart.dispose };
}

function cartPanel(app: AppContext, onBusy: (busy: boolean) => void): { element: HTMLElement; announce(text: string): void; dispose(): void } {
  const who = app.who();
  const rows = new Map<string, { row: HTMLLIElement; input: HTMLInputElement; total: HTMLElement }>();
  const lines = h("ul", { class: "cart-lines" });
  const empty = h("p", { class: "empty" }, "Your cart is empty.");
  const total = h("p", { class: "cart-total" });
  const status = statusRegion();
  const placeButton = h("button", { class: "primary", attrs: { type: "button" }, on: { click: () => void place() } }, "Place order");
  const customerInput = h("input", { attrs: { type: "text", name: "customer_id", autocomplete: "off", spellcheck: "false" } });
  const customerError = h("p", { class: "field-error" });
  const customerField = who?.isOperator
    ? field("For customer", customerInput, { hint: "An operator places the order for a customer: their customer id, like alice.", error: customerError })
    : null;
  const signedOutHint = who ? null : h("p", { class: "hint" }, "Sign in to place an order.");

  function lineRow(line: CartLine): { row: HTMLLIElement; input: HTMLInputElement; total: HTMLElement } {
    const input = h("input", {
      attrs: { type: "number", min: 1, max: MAX_QUANTITY, step: 1, inputmode: "numeric", value: line.quantity },
      on: { change: () => app.cart.setQuantity(line.sku, Number(input.value)) },
    });
    const lineTotal = h("span", { class: "line-total" });
    const row = h("li", { class: "cart-line", attrs: { "data-sku": line.sku } },
      h("span", { class: "line-name" }, line.name),
      field(["Quantity", h("span", { class: "visually-hidden" }, ` of ${line.name}`)], input),
      lineTotal,
      h("button", {
        class: "link",
        attrs: { type: "button", "aria-label": `Remove ${line.name} from cart` },
        on: {
          click: () => {
            app.cart.remove(line.sku);
            announce(`${line.name} was removed from the cart.`);
            placeButton.focus();
          },
        },
      }, "Remove"),
    );
    return { row, input, total: lineTotal };
  }

  /** Update the lines in place, so that the focus stays where the person put it. */
  function render(): void {
    const items = app.cart.items;
    const seen = new Set<string>();
    for (const line of items) {
      seen.add(line.sku);
      let entry = rows.get(line.sku);
      if (!entry) {
        entry = lineRow(line);
        rows.set(line.sku, entry);
        lines.appendChild(entry.row);
      }
      if (entry.input.valueAsNumber !== line.quantity) {
        entry.input.value = String(line.quantity);
      }
      setText(entry.total, formatMoney(line.priceCents * line.quantity, line.currency));
    }
    for (const [sku, entry] of rows) {
      if (!seen.has(sku)) {
        entry.row.remove();
        rows.delete(sku);
      }
    }
    empty.hidden = items.length > 0;
    const currency = app.cart.currency;
    setText(total, items.length === 0 ? "" : currency ? `Total: ${formatMoney(app.cart.totalCents, currency)}` : "Total: priced when the order is placed.");
    setBusy(app.placement.busy);
  }

  function setBusy(busy: boolean): void {
    placeButton.disabled = busy || app.cart.isEmpty || !who;
    placeButton.setAttribute("aria-busy", String(busy));
    for (const { input } of rows.values()) {
      input.disabled = busy;
    }
    customerInput.disabled = busy;
    onBusy(busy);
  }

  function announce(text: string): void {
    setText(status, text);
  }

  async function place(): Promise<void> {
    if (app.placement.busy || app.cart.isEmpty) {
      return;
    }
    if (!app.who()) {
      app.alert.show("Please sign in to place an order.");
      return;
    }
    let customerId: string | undefined;
    if (who?.isOperator) {
      customerId = customerInput.value.trim();
      setFieldError(customerInput, customerError, customerId ? undefined : "Enter the customer's id to place an order for them.");
      if (!customerId) {
        customerInput.focus();
        return;
      }
    }
    app.alert.clear();
    setBusy(true);
    announce("Placing your order…");
    try {
      const order = await app.placement.run(app.cart.orderBody(customerId), {
        onRetry: (delayMs, error) =>
          announce(`${describeError(error)} Sending the same order again in ${Math.ceil(delayMs / 1000)} s; it cannot be placed twice.`),
      });
      app.cart.clear();
      announce("Your order is placed.");
      app.navigate(orderHash(order.id));
    } catch (error) {
      app.alert.show(error);
      announce(
        isRetriable(error)
          ? "The order may not have reached the shop. Press Place order again: it is sent under the same key, so it is never placed twice."
          : "The order was not placed.",
      );
    } finally {
      setBusy(false);
    }
  }

  const unsubscribe = app.cart.onChange(render);
  render();

  const element = h("section", { class: "cart panel", attrs: { "data-testid": "cart", "aria-labelledby": "cart-heading" } },
    h("h2", { attrs: { id: "cart-heading" } }, "Cart"),
    empty,
    lines,
    total,
    customerField,
    placeButton,
    signedOutHint,
    status,
  );
  return { element, announce, dispose: unsubscribe };
}

/** Pieces more than one screen uses: headings, signed-out notes, and the orders table. */

import type { AppContext } from "../app";
import type { Order } from "../api/types";
import { formatMoney, formatTime, shortId } from "../format";
import { h } from "../ui/dom";
import { orderHash } from "../ui/router";

/** The screen's heading, which takes the focus when the screen opens. */
export function screenHeading(text: string): HTMLHeadingElement {
  return h("h1", { attrs: { tabindex: -1 } }, text);
}

/** A note with sign-in buttons, for a screen that needs a signed-in person. */
export function signInNote(app: AppContext, what: string): HTMLElement {
  return h("div", { class: "panel" },
    h("p", null, `Sign in to ${what}.`),
    h("button", {
      class: "primary",
      attrs: { type: "button" },
      on: { click: () => void app.signIn.begin(location.hash || "#/").catch((error: unknown) => app.alert.show(error)) },
    }, "Sign in"),
  );
}

export function statusRegion(className = "status"): HTMLParagraphElement {
  return h("p", { class: className, attrs: { role: "status", "aria-live": "polite" } });
}

/** Orders, newest first, each row naming its order and status in data attributes. */
export function ordersTable(orders: readonly Order[], options: { showCustomer: boolean }): HTMLTableElement {
  const cell = (label: string, ...content: (string | Node)[]): HTMLTableCellElement =>
    h("td", { attrs: { "data-label": label } }, ...content);
  return h("table", { class: "orders", attrs: { "data-testid": "orders-table" } },
    h("thead", null,
      h("tr", null,
        h("th", { attrs: { scope: "col" } }, "Order"),
        h("th", { attrs: { scope: "col" } }, "Placed"),
        options.showCustomer ? h("th", { attrs: { scope: "col" } }, "Customer") : null,
        h("th", { attrs: { scope: "col" } }, "Status"),
        h("th", { attrs: { scope: "col" } }, "Total"),
      ),
    ),
    h("tbody", null,
      orders.map((order) =>
        h("tr", { attrs: { "data-order-id": order.id, "data-status": order.status } },
          cell("Order", h("a", { attrs: { href: orderHash(order.id) } }, `Order ${shortId(order.id)}`)),
          cell("Placed", formatTime(order.created_at)),
          options.showCustomer ? cell("Customer", order.customer_id) : null,
          cell("Status", h("span", { class: `badge badge-${order.status.toLowerCase()}` }, order.status)),
          cell("Total", formatMoney(order.total_cents, order.currency)),
        ),
      ),
    ),
  );
}

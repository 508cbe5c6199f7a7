/** The operator's orders table, filtered by status and customer; live while load runs or chaos is on. */

import type { AppContext } from "../../app";
import { describeError } from "../../api/errors";
import type { OrderFilter, OrderStatus } from "../../api/types";
import { field, fill, h, setFieldError, setText } from "../../ui/dom";
import { poll, type Poller } from "../../ui/poll";
import { ordersTable, statusRegion } from "../common";

const LIVE_MS = 2000;
const CUSTOMER_ID = /^[A-Za-z0-9._@-]{1,64}$/;

export interface OrdersPanel {
  element: HTMLElement;
  setLive(live: boolean): void;
  dispose(): void;
}

export function ordersPanel(app: AppContext): OrdersPanel {
  const statusSelect = h("select", { attrs: { name: "status" } },
    h("option", { attrs: { value: "" } }, "Any status"),
    (["PENDING", "CONFIRMED", "CANCELLED"] as const).map((status) => h("option", { attrs: { value: status } }, status)),
  );
  const customerInput = h("input", { attrs: { type: "text", name: "customer_id", autocomplete: "off", spellcheck: "false" } });
  const customerError = h("p", { class: "field-error" });
  const status = statusRegion();
  const refusal = h("p", { class: "refusal" });
  const holder = h("div", { class: "table-holder" }, ordersTable([], { showCustomer: true }));
  let filter: OrderFilter = {};
  let poller: Poller | null = null;

  async function refresh(): Promise<void> {
    try {
      const page = await app.shop.orders(filter);
      fill(holder, ordersTable(page.results, { showCustomer: true }));
      setText(refusal, "");
      const shown = page.results.length;
      setText(status, page.count === 0 ? "No orders match." : `Showing ${shown} of ${page.count} order${page.count === 1 ? "" : "s"}, newest first.`);
    } catch (error) {
      setText(refusal, describeError(error));
      app.alert.show(error);
    }
  }

  const form = h("form", {
    class: "filters",
    attrs: { "aria-label": "Filter orders", novalidate: true },
    on: {
      submit: (event) => {
        event.preventDefault();
        const customer = customerInput.value.trim();
        const invalid = customer !== "" && !CUSTOMER_ID.test(customer);
        setFieldError(customerInput, customerError, invalid ? "A customer id has 1 to 64 letters, digits or . _ @ -." : undefined);
        if (invalid) {
          customerInput.focus();
          return;
        }
        filter = { status: statusSelect.value as OrderStatus | "", customer_id: customer };
        setText(status, "Loading orders…");
        void refresh();
      },
    },
  },
    field("Status", statusSelect),
    field("Customer", customerInput, { hint: "A customer id, like alice. Leave it empty for every customer.", error: customerError }),
    h("button", { attrs: { type: "submit" } }, "Apply filters"),
  );

  setText(status, "Loading orders…");
  void refresh();

  const element = h("section", { class: "panel wide", attrs: { "aria-labelledby": "op-orders-heading" } },
    h("h2", { attrs: { id: "op-orders-heading" } }, "Orders"),
    form,
    status,
    refusal,
    holder,
  );
  return {
    element,
    setLive(live: boolean): void {
      if (live && poller === null) {
        poller = poll(async () => {
          await refresh();
          return true;
        }, LIVE_MS);
      } else if (!live && poller !== null) {
        poller.stop();
        poller = null;
      }
    },
    dispose(): void {
      poller?.stop();
    },
  };
}

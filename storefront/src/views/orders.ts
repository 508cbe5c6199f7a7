/** The signed-in person's orders, newest first: a customer's own, or every order for an operator. */

import type { AppContext, View } from "../app";
import type { Order, Page } from "../api/types";
import { fill, h, setText } from "../ui/dom";
import { poll } from "../ui/poll";
import { ordersTable, screenHeading, signInNote, statusRegion } from "./common";

const REFRESH_MS = 3000;

export function ordersView(app: AppContext): View {
  const who = app.who();
  const heading = screenHeading(who?.isOperator ? "All orders" : "My orders");
  if (!who) {
    return { element: h("div", null, heading, signInNote(app, "see your orders")) };
  }
  let page = 1;
  const status = statusRegion();
  const tableHolder = h("div", { class: "table-holder" }, ordersTable([], { showCustomer: who.isOperator }));
  const newer = h("button", { attrs: { type: "button" }, on: { click: () => turn(-1) } }, "Newer orders");
  const older = h("button", { attrs: { type: "button" }, on: { click: () => turn(1) } }, "Older orders");
  newer.hidden = true;
  older.hidden = true;

  function show(result: Page<Order>): void {
    fill(tableHolder, ordersTable(result.results, { showCustomer: who?.isOperator ?? false }));
    setText(status, result.count === 0 ? "No orders yet." : `${result.count} order${result.count === 1 ? "" : "s"}.`);
    newer.hidden = result.previous === null;
    older.hidden = result.next === null;
  }

  async function load(): Promise<boolean> {
    try {
      const result = await app.shop.orders({ page });
      show(result);
      // Keep the list live while an order on it is still in progress.
      return result.results.some((order) => order.status === "PENDING");
    } catch (error) {
      app.alert.show(error);
      setText(status, "Your orders could not be loaded.");
      return false;
    }
  }

  let poller = poll(load, REFRESH_MS);
  function turn(step: number): void {
    page = Math.max(1, page + step);
    poller.stop();
    poller = poll(load, REFRESH_MS);
  }

  setText(status, "Loading your orders…");
  const element = h("div", { class: "orders-screen" },
    heading,
    status,
    tableHolder,
    h("div", { class: "pager" }, newer, older),
  );
  return { element, dispose: () => poller.stop() };
}

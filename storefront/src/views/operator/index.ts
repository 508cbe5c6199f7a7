/**
 * The operator console: orders, circuit breakers, the last audit, chaos toggles and the load
 * generator. The page hides its link from customers, but the services decide who may see what: a
 * customer who opens it by URL sees each panel's refusal, as the API gave it.
 */

import type { AppContext, View } from "../../app";
import { h } from "../../ui/dom";
import { screenHeading, signInNote } from "../common";
import { auditPanel } from "./audit";
import { breakersPanel } from "./breakers";
import { chaosPanel } from "./chaos";
import { loadPanel } from "./load";
import { ordersPanel } from "./orders";

export function operatorView(app: AppContext): View {
  const heading = screenHeading("Operator console");
  const who = app.who();
  if (!who) {
    return { element: h("div", null, heading, signInNote(app, "open the operator console")) };
  }
  const live = { load: false, chaos: false };
  const orders = ordersPanel(app);
  const updateLive = (): void => orders.setLive(live.load || live.chaos);
  const breakers = breakersPanel(app);
  const audit = auditPanel(app);
  const chaos = chaosPanel(app, (active) => {
    live.chaos = active;
    updateLive();
  });
  const load = loadPanel(app, (running) => {
    live.load = running;
    updateLive();
  });

  const element = h("div", { class: "operator-screen" },
    heading,
    who.isOperator ? null : h("p", { class: "notice" }, "This console is for operators. Each panel shows what the services answer you."),
    h("div", { class: "console-grid" }, breakers.element, audit.element, load.element, chaos.element, orders.element),
  );
  return {
    element,
    dispose: () => {
      for (const panel of [orders, breakers, audit, chaos, load]) {
        panel.dispose();
      }
    },
  };
}

/** The load generator's form and status: places demo orders for random customers at a set rate. */

import type { AppContext } from "../../app";
import { describeError } from "../../api/errors";
import {
  COUNT_MAX,
  COUNT_MIN,
  LoadGenerator,
  RATE_MAX,
  RATE_MIN,
  loadProgressText,
  readLoadSettings,
} from "../../operator/load";
import { field, h, setFieldError, setText } from "../../ui/dom";

export function loadPanel(app: AppContext, onRunning: (running: boolean) => void): { element: HTMLElement; dispose(): void } {
  const count = h("input", { attrs: { type: "number", name: "count", min: COUNT_MIN, max: COUNT_MAX, step: 1, value: 20, required: true } });
  const rate = h("input", { attrs: { type: "number", name: "rate", min: RATE_MIN, max: RATE_MAX, step: 0.1, value: 1, required: true } });
  const countError = h("p", { class: "field-error" });
  const rateError = h("p", { class: "field-error" });
  const status = h("p", { class: "status", attrs: { role: "status", "aria-live": "polite", "data-testid": "load-status" } }, "Not running.");
  const startButton = h("button", { class: "primary", attrs: { type: "submit" } }, "Start load");
  const stopButton = h("button", { attrs: { type: "button" }, on: { click: () => generator?.stop() } }, "Stop load");
  stopButton.disabled = true;
  let generator: LoadGenerator | null = null;
  let preparing = false;

  function setRunning(running: boolean): void {
    startButton.disabled = running;
    stopButton.disabled = !running || preparing;
    count.disabled = running;
    rate.disabled = running;
    onRunning(running);
  }

  async function start(): Promise<void> {
    const settings = readLoadSettings(count.value, rate.value);
    const errors = settings.ok ? {} : settings.errors;
    setFieldError(count, countError, errors.count);
    setFieldError(rate, rateError, errors.rate);
    if (!settings.ok || generator?.progress.running || preparing) {
      return;
    }
    preparing = true;
    setRunning(true);
    setText(status, "Reading customers and products…");
    try {
      const [accounts, catalog] = await Promise.all([app.shop.accounts(), app.shop.catalog()]);
      const inStock = catalog.results.filter((product) => product.availability !== "out_of_stock");
      const skus = inStock.map((product) => product.sku);
      // Customers who can pay for any one item: a demo of faults ridden out, not of declined payments.
      const dearest = Math.max(0, ...inStock.map((product) => product.price_cents));
      const customers = accounts.results
        .filter((account) => account.balance_cents >= dearest)
        .map((account) => account.customer_id);
      if (customers.length === 0 || skus.length === 0) {
        setText(status, customers.length === 0 ? "No customer account can pay for an item." : "No product is in stock.");
        preparing = false;
        setRunning(false);
        return;
      }
      generator = new LoadGenerator({
        customers,
        skus,
        count: settings.count,
        rate: settings.rate,
        place: (body, key) => app.shop.placeOrder(body, key),
        onProgress: (progress) => {
          setText(status, loadProgressText(progress));
          if (!progress.running) {
            setRunning(false);
          }
        },
      });
      preparing = false;
      setRunning(true); // now that it can be stopped
      generator.start();
    } catch (error) {
      preparing = false;
      setText(status, `The load could not start: ${describeError(error)}`);
      app.alert.show(error);
      setRunning(false);
    }
  }

  const element = h("section", { class: "panel", attrs: { "aria-labelledby": "load-heading" } },
    h("h2", { attrs: { id: "load-heading" } }, "Load generator"),
    h("p", { class: "hint" }, "Places demo orders of one item each, for customers who can pay and products in stock, picked at random, each with its own Idempotency-Key."),
    h("form", {
      class: "load-form",
      attrs: { "aria-label": "Load generator", novalidate: true },
      on: { submit: (event) => { event.preventDefault(); void start(); } },
    },
      field("Orders to place", count, { hint: `${COUNT_MIN} to ${COUNT_MAX}.`, error: countError }),
      field("Orders per second", rate, { hint: `${RATE_MIN} to ${RATE_MAX}.`, error: rateError }),
      h("div", { class: "actions" }, startButton, stopButton),
    ),
    status,
  );
  return { element, dispose: () => generator?.stop() };
}

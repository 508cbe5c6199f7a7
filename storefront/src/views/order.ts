/**
 * One order and its saga, live: the status and the outcome in words, each step with its state and
 * attempts, what was undone in the order it ran, "Cancel order" with the server's real answer, and a
 * link to the workflow in the Temporal Web UI. It polls about once a second until the order is final.
 */

import type { AppContext, View } from "../app";
import { ApiError, cancelRefusalText, describeError } from "../api/errors";
import { isRetriable } from "../api/retry";
import type { Order, Saga } from "../api/types";
import { temporalWorkflowUrl } from "../config";
import { formatMoney, formatTime, shortId } from "../format";
import { IdempotentAttempt } from "../orders/attempt";
import { keepPolling, orderOutcome, sagaView, type StepView } from "../orders/saga";
import { fill, h, setText } from "../ui/dom";
import { poll } from "../ui/poll";
import { screenHeading, signInNote, statusRegion } from "./common";

const POLL_MS = 1000;

export function orderView(app: AppContext, orderId: string): View {
  const heading = screenHeading(`Order ${shortId(orderId)}`);
  const who = app.who();
  if (!who) {
    return { element: h("div", null, heading, signInNote(app, "follow this order")) };
  }

  const statusText = h("strong", { attrs: { "data-testid": "order-status" } });
  const headline = h("p", { class: "outcome" });
  const reason = h("p", { class: "reason", attrs: { "data-testid": "order-reason" } });
  const facts = h("dl", { class: "facts" });
  const items = h("ul", { class: "items" });
  const temporalLink = h("a", { attrs: { "data-testid": "temporal-link", target: "_blank", rel: "noopener noreferrer" } },
    "See this saga in the Temporal Web UI");
  temporalLink.hidden = true;

  const sagaStatus = statusRegion();
  const steps = h("ol", { class: "steps" });
  const stepItems = new Map<string, StepItem>();
  const undone = h("ol", { class: "undone", attrs: { "data-testid": "undone-list" } });
  const nothingUndone = h("p", { class: "hint" }, "Nothing was undone.");

  const cancelButton = h("button", { class: "danger", attrs: { type: "button" }, on: { click: () => void cancel() } }, "Cancel order");
  cancelButton.hidden = true;
  const cancelResult = statusRegion("status cancel-result");
  cancelResult.setAttribute("data-testid", "cancel-result");
  const cancelling = new IdempotentAttempt<string, Order>({
    send: (id, key) => app.shop.cancelOrder(id, key),
  });

  let order: Order | null = null;
  let saga: Saga | null = null;

  function showOrder(next: Order): void {
    order = next;
    const outcome = orderOutcome(next);
    setText(statusText, next.status);
    statusText.className = `badge badge-${next.status.toLowerCase()}`;
    setText(headline, outcome.headline);
    setText(reason, outcome.reason);
    reason.hidden = outcome.reason === "";
    fill(facts,
      h("dt", null, "Placed"), h("dd", null, formatTime(next.created_at)),
      h("dt", null, "Customer"), h("dd", null, next.customer_id),
      h("dt", null, "Total"), h("dd", null, formatMoney(next.total_cents, next.currency)),
      h("dt", null, "Workflow"), h("dd", { class: "mono" }, next.workflow_id),
    );
    fill(items, next.items.map((item) =>
      h("li", null, `${item.quantity} × ${item.sku}`,
        item.unit_price_cents === null ? null : ` at ${formatMoney(item.unit_price_cents, next.currency)}`)));
    const url = temporalWorkflowUrl(app.config, next.workflow_id);
    temporalLink.hidden = url === null;
    if (url) {
      temporalLink.href = url;
    }
    cancelButton.hidden = next.status !== "PENDING";
  }

  function showSaga(next: Saga): void {
    saga = next;
    const view = sagaView(next);
    setText(sagaStatus, `Saga: ${view.workflowStatusText}`);
    for (const step of view.steps) {
      let item = stepItems.get(step.name);
      if (!item) {
        item = stepItem(step);
        stepItems.set(step.name, item);
        steps.appendChild(item.element);
      }
      item.update(step);
    }
    fill(undone, view.undone.map((entry) =>
      h("li", { attrs: { "data-step": entry.name } },
        h("span", { class: "symbol", attrs: { "aria-hidden": "true" } }, "↺"), " ",
        entry.label, h("small", null, ` at ${formatTime(entry.at)}`))));
    nothingUndone.hidden = view.undone.length > 0;
  }

  async function refresh(): Promise<boolean> {
    const [orderResult, sagaResult] = await Promise.allSettled([app.shop.order(orderId), app.shop.saga(orderId)]);
    if (orderResult.status === "fulfilled") {
      showOrder(orderResult.value);
    } else if (!isRetriable(orderResult.reason)) {
      app.alert.show(orderResult.reason);
      return false;
    }
    if (sagaResult.status === "fulfilled") {
      showSaga(sagaResult.value);
    } else {
      const error: unknown = sagaResult.reason;
      if (!isRetriable(error)) {
        setText(sagaStatus, describeError(error));
        return false;
      }
      setText(sagaStatus, `The saga's progress cannot be read right now: ${describeError(error)} Trying again…`);
    }
    return keepPolling(order?.status ?? null, sagaResult.status === "fulfilled" ? sagaResult.value.status : (saga?.status ?? null));
  }

  async function cancel(): Promise<void> {
    if (cancelling.busy) {
      return;
    }
    cancelButton.disabled = true;
    cancelButton.setAttribute("aria-busy", "true");
    setText(cancelResult, "Asking the saga to cancel…");
    try {
      await cancelling.run(orderId, {
        onRetry: (delayMs, error) => setText(cancelResult, `${describeError(error)} Asking again in ${Math.ceil(delayMs / 1000)} s…`),
      });
      setText(cancelResult, "Cancel accepted: the saga is undoing what it did, then the order becomes CANCELLED.");
    } catch (error) {
      const refusal = cancelRefusalText(error);
      if (refusal !== null || (error instanceof ApiError && error.status === 409)) {
        setText(cancelResult, describeError(error));
      } else {
        setText(cancelResult, `The order was not cancelled. ${describeError(error)}`);
        app.alert.show(error);
      }
    } finally {
      cancelButton.disabled = false;
      cancelButton.removeAttribute("aria-busy");
      poller.now();
    }
  }

  setText(sagaStatus, "Loading the saga…");
  const poller = poll(refresh, POLL_MS);

  const element = h("div", { class: "order-screen" },
    heading,
    h("section", { class: "panel summary", attrs: { "aria-label": "Order" } },
      h("p", { class: "status-line" }, "Status: ", statusText),
      headline,
      reason,
      facts,
      h("h2", null, "Items"),
      items,
      h("p", null, temporalLink),
      h("div", { class: "actions" }, cancelButton),
      cancelResult,
    ),
    h("section", { class: "panel saga", attrs: { "aria-labelledby": "saga-heading" } },
      h("h2", { attrs: { id: "saga-heading" } }, "The saga, step by step"),
      sagaStatus,
      steps,
      h("h3", null, "Undone"),
      h("p", { class: "hint" }, "Compensations, in the order they ran: the newest step is undone first."),
      undone,
      nothingUndone,
    ),
  );
  return { element, dispose: () => poller.stop() };
}

interface StepItem {
  element: HTMLLIElement;
  update(step: StepView): void;
}

/** One step of the saga, updated in place as the saga moves on. */
function stepItem(step: StepView): StepItem {
  const symbol = h("span", { class: "symbol", attrs: { "aria-hidden": "true" } });
  const state = h("span", { class: "state" });
  const attempts = h("span", { class: "attempts" });
  const times = h("small", { class: "times" });
  const lastError = h("small", { class: "last-error" });
  const element = h("li", { class: "step", attrs: { "data-testid": `step-${step.name}` } },
    symbol,
    h("div", { class: "step-main" },
      h("span", { class: "step-name" }, step.label),
      step.isPivot ? h("span", { class: "pivot" }, "pivot: once done, the order will complete") : null,
    ),
    h("div", { class: "step-state" }, state, attempts),
    times,
    lastError,
  );
  return {
    element,
    update(next: StepView): void {
      element.dataset["state"] = next.state;
      element.dataset["attempts"] = String(next.attempts);
      element.className = `step step-${next.state}`;
      setText(symbol, next.symbol);
      setText(state, next.stateWord);
      setText(attempts, next.attemptsText);
      attempts.hidden = next.attemptsText === "";
      const started = next.startedAt ? `started ${formatTime(next.startedAt)}` : "";
      const finished = next.finishedAt ? `, finished ${formatTime(next.finishedAt)}` : "";
      setText(times, started + finished);
      setText(lastError, next.lastError ? `Last error: ${next.lastError}` : "");
      lastError.hidden = !next.lastError;
    },
  };
}

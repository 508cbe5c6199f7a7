import { describe, expect, it } from "vitest";
import type { Saga, SagaStep } from "../../../src/api/types";
import { keepPolling, orderOutcome, REASON_TEXT, sagaView } from "../../../src/orders/saga";

function step(name: string, state: string, extra: Partial<SagaStep> = {}): SagaStep {
  return { name, state, attempts: 1, last_error: null, started_at: null, finished_at: null, compensated_at: null, ...extra };
}

const cancelledByPayment: Saga = {
  order_id: "o1",
  workflow_id: "order-o1",
  status: "COMPLETED",
  // Deliberately out of order: the view model orders steps itself.
  steps: [
    step("commit_stock", "skipped", { attempts: 0 }),
    step("authorize_payment", "compensated", { attempts: 3, compensated_at: "2025-06-01T10:00:02.000Z" }),
    step("reserve_stock", "compensated", { compensated_at: "2025-06-01T10:00:03.500Z" }),
    step("confirm_order", "skipped", { attempts: 0 }),
    step("capture_payment", "failed", { attempts: 1, last_error: "payment_declined" }),
  ],
};

describe("sagaView", () => {
  it("lists the steps in the saga's order, each state as a word and a symbol", () => {
    const view = sagaView(cancelledByPayment);
    expect(view.steps.map((s) => [s.name, s.symbol, s.stateWord])).toEqual([
      ["reserve_stock", "↺", "Undone"],
      ["authorize_payment", "↺", "Undone"],
      ["capture_payment", "✗", "Failed"],
      ["commit_stock", "–", "Skipped"],
      ["confirm_order", "–", "Skipped"],
    ]);
    expect(view.steps.find((s) => s.isPivot)?.name).toBe("capture_payment");
  });

  it("shows the attempts of a retried step only", () => {
    const view = sagaView(cancelledByPayment);
    expect(view.steps.map((s) => s.attemptsText)).toEqual(["", "3 attempts", "", "", ""]);
  });

  it("lists the compensations in the order they ran, by compensated_at", () => {
    expect(sagaView(cancelledByPayment).undone.map((u) => u.name)).toEqual(["authorize_payment", "reserve_stock"]);
  });

  it("lists compensations that ran in the same instant newest step first", () => {
    const saga: Saga = {
      ...cancelledByPayment,
      steps: [
        step("reserve_stock", "compensated", { compensated_at: "2025-06-01T10:00:02Z" }),
        step("authorize_payment", "compensated", { compensated_at: "2025-06-01T10:00:02Z" }),
      ],
    };
    expect(sagaView(saga).undone.map((u) => u.name)).toEqual(["authorize_payment", "reserve_stock"]);
  });

  it("marks running and done steps, and keeps a state it does not know as it came", () => {
    const view = sagaView({
      ...cancelledByPayment,
      status: "RUNNING",
      steps: [step("reserve_stock", "done"), step("authorize_payment", "running"), step("capture_payment", "paused")],
    });
    expect(view.steps.map((s) => s.symbol)).toEqual(["✓", "…", "?"]);
    expect(view.steps[2]?.stateWord).toBe("paused");
    expect(view.undone).toEqual([]);
  });
});

describe("orderOutcome", () => {
  it("gives each cancellation reason in words", () => {
    expect(orderOutcome({ status: "CANCELLED", cancellation_reason: "unknown_sku" }).reason).toBe("An item is not in the catalog");
    expect(orderOutcome({ status: "CANCELLED", cancellation_reason: "out_of_stock" }).reason).toBe("Not enough stock");
    expect(orderOutcome({ status: "CANCELLED", cancellation_reason: "payment_declined" }).reason).toBe("The payment was declined");
    expect(orderOutcome({ status: "CANCELLED", cancellation_reason: "customer_cancelled" }).reason).toBe("You cancelled the order");
    expect(orderOutcome({ status: "CANCELLED", cancellation_reason: "timed_out" }).reason).toBe("The order took too long and was cancelled");
    expect(Object.keys(REASON_TEXT)).toHaveLength(5);
  });

  it("has no reason for an order that is not cancelled", () => {
    expect(orderOutcome({ status: "CONFIRMED", cancellation_reason: null }).reason).toBe("");
    expect(orderOutcome({ status: "PENDING", cancellation_reason: null }).reason).toBe("");
  });
});

describe("keepPolling", () => {
  it("polls while the order is pending or the saga runs or has not started", () => {
    expect(keepPolling("PENDING", "RUNNING")).toBe(true);
    expect(keepPolling("PENDING", "COMPLETED")).toBe(true);
    expect(keepPolling("CANCELLED", "RUNNING")).toBe(true);
    expect(keepPolling("PENDING", "NOT_STARTED")).toBe(true);
  });

  it("polls until both have been read", () => {
    expect(keepPolling(null, "COMPLETED")).toBe(true);
    expect(keepPolling("CONFIRMED", null)).toBe(true);
  });

  it("stops once both are final", () => {
    expect(keepPolling("CONFIRMED", "COMPLETED")).toBe(false);
    expect(keepPolling("CANCELLED", "COMPLETED")).toBe(false);
    expect(keepPolling("CANCELLED", "FAILED")).toBe(false);
  });
});

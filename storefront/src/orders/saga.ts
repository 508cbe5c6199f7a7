/**
 * What the order page shows of a saga: each forward step with its state as a word and a symbol and
 * its attempts, the compensations in the order they ran, the outcome in words, and whether to keep
 * polling. Pure: the page renders this model and nothing else.
 */

import type { Order, Saga, SagaStep } from "../api/types";

/** The forward steps, in the order they run; capture_payment is the pivot. */
export const STEP_ORDER = [
  "reserve_stock",
  "authorize_payment",
  "capture_payment",
  "commit_stock",
  "confirm_order",
] as const;

export const PIVOT_STEP = "capture_payment";

const STEP_LABELS: Record<string, string> = {
  reserve_stock: "Reserve stock",
  authorize_payment: "Authorize payment",
  capture_payment: "Capture payment",
  commit_stock: "Commit stock",
  confirm_order: "Confirm order",
};

/** What each compensated step's undo did, for the "Undone" list. */
const UNDO_LABELS: Record<string, string> = {
  reserve_stock: "Stock reservation released",
  authorize_payment: "Payment authorization voided",
};

const STATES: Record<string, { word: string; symbol: string }> = {
  pending: { word: "Waiting", symbol: "○" },
  running: { word: "Running", symbol: "…" },
  done: { word: "Done", symbol: "✓" },
  failed: { word: "Failed", symbol: "✗" },
  compensated: { word: "Undone", symbol: "↺" },
  skipped: { word: "Skipped", symbol: "–" },
};

const WORKFLOW_STATUS_WORDS: Record<string, string> = {
  NOT_STARTED: "Not started yet: the saga starts in a moment.",
  RUNNING: "Running.",
  COMPLETED: "Completed.",
  FAILED: "Failed: an operator must look at this order.",
  TERMINATED: "Terminated by an operator.",
  CANCELED: "Cancelled in Temporal.",
  TIMED_OUT: "Timed out in Temporal.",
  CONTINUED_AS_NEW: "Continued as a new run.",
};

export const REASON_TEXT: Record<string, string> = {
  unknown_sku: "An item is not in the catalog",
  out_of_stock: "Not enough stock",
  payment_declined: "The payment was declined",
  customer_cancelled: "You cancelled the order",
  timed_out: "The order took too long and was cancelled",
};

export interface StepView {
  name: string;
  label: string;
  isPivot: boolean;
  state: string;
  stateWord: string;
  symbol: string;
  attempts: number;
  /** "3 attempts" when a step was retried, "" otherwise. */
  attemptsText: string;
  lastError: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface UndoneView {
  name: string;
  label: string;
  at: string;
}

export interface SagaView {
  workflowStatus: string;
  workflowStatusText: string;
  steps: StepView[];
  /** Compensations in the order they ran: by compensated_at, the newest step first on a tie. */
  undone: UndoneView[];
}

export function attemptsText(attempts: number): string {
  return attempts > 1 ? `${attempts} attempts` : "";
}

function stepRank(name: string): number {
  const index = (STEP_ORDER as readonly string[]).indexOf(name);
  return index === -1 ? STEP_ORDER.length : index;
}

function stepView(step: SagaStep): StepView {
  const state = STATES[step.state] ?? { word: step.state, symbol: "?" };
  const attempts = Number.isFinite(step.attempts) ? step.attempts : 0;
  return {
    name: step.name,
    label: STEP_LABELS[step.name] ?? step.name,
    isPivot: step.name === PIVOT_STEP,
    state: step.state,
    stateWord: state.word,
    symbol: state.symbol,
    attempts,
    attemptsText: attemptsText(attempts),
    lastError: step.last_error,
    startedAt: step.started_at,
    finishedAt: step.finished_at,
  };
}

export function sagaView(saga: Saga): SagaView {
  const steps = [...saga.steps].sort((a, b) => stepRank(a.name) - stepRank(b.name));
  const undone = steps
    .filter((step): step is SagaStep & { compensated_at: string } => step.compensated_at !== null)
    .sort((a, b) => Date.parse(a.compensated_at) - Date.parse(b.compensated_at) || stepRank(b.name) - stepRank(a.name))
    .map((step) => ({
      name: step.name,
      label: UNDO_LABELS[step.name] ?? `${STEP_LABELS[step.name] ?? step.name} undone`,
      at: step.compensated_at,
    }));
  return {
    workflowStatus: saga.status,
    workflowStatusText: WORKFLOW_STATUS_WORDS[saga.status] ?? `${saga.status.toLowerCase()}.`,
    steps: steps.map(stepView),
    undone,
  };
}

export interface Outcome {
  headline: string;
  /** The cancellation reason in words, or "" when there is none. */
  reason: string;
}

export function orderOutcome(order: Pick<Order, "status" | "cancellation_reason">): Outcome {
  switch (order.status) {
    case "CONFIRMED":
      return { headline: "Confirmed: the payment was captured and the goods are yours.", reason: "" };
    case "CANCELLED":
      return {
        headline: "Cancelled: whatever the saga had done was undone.",
        reason: order.cancellation_reason
          ? (REASON_TEXT[order.cancellation_reason] ?? "The order was cancelled")
          : "The order was cancelled",
      };
    default:
      return { headline: "In progress: the saga is working on this order.", reason: "" };
  }
}

const ACTIVE_SAGA = new Set(["RUNNING", "NOT_STARTED"]);

/**
 * Keep polling while the order is PENDING or the saga is RUNNING or NOT_STARTED, and until both have
 * been read at least once: a saga that could not be read (its service answered 503) is tried again.
 */
export function keepPolling(orderStatus: string | null, sagaStatus: string | null): boolean {
  return orderStatus === null || orderStatus === "PENDING" || sagaStatus === null || ACTIVE_SAGA.has(sagaStatus);
}

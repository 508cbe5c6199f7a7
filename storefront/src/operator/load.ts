/**
 * A load generator for demos: it places `count` orders at `rate` orders a second, each for a customer
 * and one unit of a product picked from those given, each under its own Idempotency-Key (kept for the
 * retries of that order). It stops by itself after `count` orders, on stop(), or after five failures
 * in a row. Count and rate are kept within their bounds here, whatever the form let through.
 */

import type { PlaceOrderBody } from "../api/types";
import { describeError } from "../api/errors";
import { withRetries, type RetryOptions } from "../api/retry";
import type { Timer } from "../auth/tokens";
import { uuid4 } from "../random";

export const COUNT_MIN = 1;
export const COUNT_MAX = 100;
export const RATE_MIN = 0.2;
export const RATE_MAX = 5;
export const MAX_CONSECUTIVE_FAILURES = 5;

export function clampCount(count: number): number {
  if (!Number.isFinite(count)) {
    return COUNT_MIN;
  }
  return Math.min(COUNT_MAX, Math.max(COUNT_MIN, Math.round(count)));
}

export function clampRate(rate: number): number {
  if (!Number.isFinite(rate)) {
    return RATE_MIN;
  }
  return Math.min(RATE_MAX, Math.max(RATE_MIN, rate));
}

export type LoadSettingsResult =
  | { ok: true; count: number; rate: number }
  | { ok: false; errors: { count?: string; rate?: string } };

/** Read the form's two fields; a value out of bounds is refused here, not silently changed. */
export function readLoadSettings(countText: string, rateText: string): LoadSettingsResult {
  const count = Number(countText.trim());
  const rate = Number(rateText.trim());
  const errors: { count?: string; rate?: string } = {};
  if (countText.trim() === "" || !Number.isInteger(count) || count < COUNT_MIN || count > COUNT_MAX) {
    errors.count = `Orders to place is a whole number from ${COUNT_MIN} to ${COUNT_MAX}.`;
  }
  if (rateText.trim() === "" || !Number.isFinite(rate) || rate < RATE_MIN || rate > RATE_MAX) {
    errors.rate = `Orders per second is a number from ${RATE_MIN} to ${RATE_MAX}.`;
  }
  return errors.count || errors.rate ? { ok: false, errors } : { ok: true, count, rate };
}

export type StopReason = "done" | "stopped" | "failures";

export interface LoadProgress {
  count: number;
  sent: number;
  placed: number;
  refused: number;
  running: boolean;
  stopReason: StopReason | null;
  lastError: string | null;
}

export interface LoadDeps {
  customers: readonly string[];
  skus: readonly string[];
  count: number;
  rate: number;
  place: (body: PlaceOrderBody, idempotencyKey: string) => Promise<unknown>;
  onProgress?: (progress: LoadProgress) => void;
  random?: () => number;
  newKey?: () => string;
  timer?: Timer;
  retry?: RetryOptions;
}

const browserTimer: Timer = {
  set: (callback, delayMs) => setTimeout(callback, delayMs),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class LoadGenerator {
  readonly count: number;
  readonly intervalMs: number;
  private sent = 0;
  private placed = 0;
  private refused = 0;
  private failuresInARow = 0;
  private lastError: string | null = null;
  private stopReason: StopReason | null = null;
  private started = false;
  private scheduled: unknown = null;
  private readonly deps: LoadDeps;
  private readonly timer: Timer;
  private readonly random: () => number;
  private readonly newKey: () => string;

  constructor(deps: LoadDeps) {
    if (deps.customers.length === 0 || deps.skus.length === 0) {
      throw new Error("The load generator needs at least one customer and one product.");
    }
    this.deps = deps;
    this.count = clampCount(deps.count);
    this.intervalMs = Math.round(1000 / clampRate(deps.rate));
    this.timer = deps.timer ?? browserTimer;
    this.random = deps.random ?? Math.random;
    this.newKey = deps.newKey ?? (() => uuid4());
  }

  get progress(): LoadProgress {
    return {
      count: this.count,
      sent: this.sent,
      placed: this.placed,
      refused: this.refused,
      running: this.started && this.stopReason === null,
      stopReason: this.stopReason,
      lastError: this.lastError,
    };
  }

  start(): void {
    if (this.started) {
      return;
    }
    this.started = true;
    this.tick();
  }

  stop(): void {
    this.finish("stopped");
  }

  private tick(): void {
    this.scheduled = null;
    if (this.stopReason !== null || this.sent >= this.count) {
      return;
    }
    this.sent += 1;
    void this.placeOne();
    this.report();
    if (this.sent < this.count) {
      this.scheduled = this.timer.set(() => this.tick(), this.intervalMs);
    }
  }

  private async placeOne(): Promise<void> {
    const body: PlaceOrderBody = {
      customer_id: this.pick(this.deps.customers),
      items: [{ sku: this.pick(this.deps.skus), quantity: 1 }],
    };
    const key = this.newKey();
    try {
      await withRetries(() => this.deps.place(body, key), this.deps.retry);
      this.placed += 1;
      this.failuresInARow = 0;
    } catch (error) {
      this.refused += 1;
      this.failuresInARow += 1;
      this.lastError = describeError(error);
      if (this.failuresInARow >= MAX_CONSECUTIVE_FAILURES) {
        this.finish("failures");
      }
    }
    if (this.stopReason === null && this.placed + this.refused >= this.count) {
      this.finish("done");
    }
    this.report();
  }

  private pick<T>(values: readonly T[]): T {
    const index = Math.min(values.length - 1, Math.floor(this.random() * values.length));
    return values[index] as T;
  }

  private finish(reason: StopReason): void {
    if (this.stopReason !== null) {
      return;
    }
    this.stopReason = reason;
    if (this.scheduled !== null) {
      this.timer.clear(this.scheduled);
      this.scheduled = null;
    }
    this.report();
  }

  private report(): void {
    this.deps.onProgress?.(this.progress);
  }
}

/** The load generator's progress in words, for its status line. */
export function loadProgressText(progress: LoadProgress): string {
  const counts = `placed ${progress.placed}, refused ${progress.refused} of ${progress.count}`;
  switch (progress.stopReason) {
    case null:
      return progress.running ? `Running: ${counts}.` : "Not running.";
    case "done":
      return `Finished: ${counts}.`;
    case "stopped":
      return `Stopped: ${counts}.`;
    case "failures":
      return `Stopped after ${MAX_CONSECUTIVE_FAILURES} failures in a row: ${counts}. Last refusal: ${progress.lastError ?? "unknown"}`;
  }
}

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../../src/api/errors";
import type { PlaceOrderBody } from "../../../src/api/types";
import {
  clampCount,
  clampRate,
  LoadGenerator,
  loadProgressText,
  MAX_CONSECUTIVE_FAILURES,
  readLoadSettings,
  type LoadDeps,
} from "../../../src/operator/load";

describe("bounds", () => {
  it("clamps the count to 1..100 whole orders", () => {
    expect([0, -5, 1, 42.4, 100, 101, 1e9, Number.NaN].map(clampCount)).toEqual([1, 1, 1, 42, 100, 100, 100, 1]);
  });

  it("clamps the rate to 0.2..5 orders a second", () => {
    expect([0, 0.1, 0.2, 2.5, 5, 50, Number.POSITIVE_INFINITY].map(clampRate)).toEqual([0.2, 0.2, 0.2, 2.5, 5, 5, 0.2]);
  });

  it("refuses out-of-bounds values in the form instead of changing them", () => {
    expect(readLoadSettings("20", "1")).toEqual({ ok: true, count: 20, rate: 1 });
    expect(readLoadSettings("100", "0.2")).toEqual({ ok: true, count: 100, rate: 0.2 });
    const refused = readLoadSettings("101", "0.1");
    expect(refused.ok).toBe(false);
    expect(!refused.ok && Object.keys(refused.errors).sort()).toEqual(["count", "rate"]);
    expect(readLoadSettings("2.5", "5").ok).toBe(false);
    expect(readLoadSettings("", "").ok).toBe(false);
    expect(readLoadSettings("10", "5.1").ok).toBe(false);
  });
});

describe("LoadGenerator", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function generator(place: LoadDeps["place"], overrides: Partial<LoadDeps> = {}) {
    let key = 0;
    const load = new LoadGenerator({
      customers: ["alice", "bob"],
      skus: ["BEANS-1KG", "MUG-CERAMIC"],
      count: 5,
      rate: 2,
      place,
      newKey: () => `key-${++key}`,
      retry: { policy: { maxRetries: 0, baseDelayMs: 1, maxWaitMs: 1 } },
      ...overrides,
    });
    return { load };
  }

  it("places exactly count orders at the rate, each one item for a customer under its own key", async () => {
    const place = vi.fn(async (_body: PlaceOrderBody, _key: string) => ({}));
    const { load } = generator(place);
    load.start();
    expect(place).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(place).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(place).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(place).toHaveBeenCalledTimes(5);
    expect(new Set(place.mock.calls.map(([, key]) => key)).size).toBe(5);
    for (const [body] of place.mock.calls) {
      expect(["alice", "bob"]).toContain(body.customer_id);
      expect(body.items).toHaveLength(1);
      expect(body.items[0]?.quantity).toBe(1);
      expect(["BEANS-1KG", "MUG-CERAMIC"]).toContain(body.items[0]?.sku);
    }
    expect(load.progress).toMatchObject({ placed: 5, refused: 0, running: false, stopReason: "done" });
  });

  it("keeps the rate within bounds whatever it is given", () => {
    const place = vi.fn(async () => ({}));
    expect(generator(place, { rate: 100 }).load.intervalMs).toBe(200);
    expect(generator(place, { rate: 0 }).load.intervalMs).toBe(5000);
    expect(generator(place, { count: 1000 }).load.count).toBe(100);
  });

  it("stops after five failures in a row, and says why", async () => {
    const place = vi.fn(async () => {
      throw ApiError.fromResponse(403, JSON.stringify({ code: "permission_denied", message: "You may not do this.", details: {} }));
    });
    const { load } = generator(place, { count: 50, rate: 5 });
    load.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(place).toHaveBeenCalledTimes(MAX_CONSECUTIVE_FAILURES);
    expect(load.progress).toMatchObject({ refused: 5, placed: 0, stopReason: "failures", running: false });
    expect(loadProgressText(load.progress)).toContain("You may not do this.");
  });

  it("counts failures in a row only: a success in between starts the count again", async () => {
    let call = 0;
    const place = vi.fn(async () => {
      call += 1;
      if (call % 4 === 0) return {};
      throw ApiError.network();
    });
    const { load } = generator(place, { count: 12, rate: 5 });
    load.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(load.progress).toMatchObject({ placed: 3, refused: 9, stopReason: "done" });
  });

  it("retries one order under its own key before counting it refused", async () => {
    const place = vi.fn().mockRejectedValueOnce(ApiError.network()).mockResolvedValue({});
    const { load } = generator(place, { count: 1, retry: { policy: { maxRetries: 2, baseDelayMs: 10, maxWaitMs: 100 } } });
    load.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(place.mock.calls.map(([, key]) => key)).toEqual(["key-1", "key-1"]);
    expect(load.progress).toMatchObject({ placed: 1, refused: 0 });
  });

  it("sends nothing more after stop()", async () => {
    const place = vi.fn(async () => ({}));
    const { load } = generator(place, { count: 100, rate: 1 });
    load.start();
    await vi.advanceTimersByTimeAsync(2500);
    load.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(place).toHaveBeenCalledTimes(3);
    expect(load.progress.stopReason).toBe("stopped");
  });

  it("needs customers and products", () => {
    expect(() => generator(vi.fn(), { customers: [] })).toThrow();
    expect(() => generator(vi.fn(), { skus: [] })).toThrow();
  });
});

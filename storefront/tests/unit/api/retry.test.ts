import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../../../src/api/errors";
import { isRetriable, retryDelayMs, withRetries } from "../../../src/api/retry";

const answer = (status: number, code = "some_code", details: Record<string, unknown> = {}) =>
  ApiError.fromResponse(status, JSON.stringify({ code, message: "m", details }));

const policy = { maxRetries: 3, baseDelayMs: 100, maxWaitMs: 10_000 };

describe("isRetriable", () => {
  it("retries what may still succeed with the same key", () => {
    expect(isRetriable(ApiError.network())).toBe(true);
    expect(isRetriable(answer(503, "fault_injected_lost_ack"))).toBe(true);
    expect(isRetriable(answer(502))).toBe(true);
    expect(isRetriable(answer(429, "throttled"))).toBe(true);
    expect(isRetriable(answer(409, "idempotency_in_flight"))).toBe(true);
  });

  it("takes every other answer as final", () => {
    expect(isRetriable(answer(400, "validation_error"))).toBe(false);
    expect(isRetriable(answer(409, "order_not_cancellable"))).toBe(false);
    expect(isRetriable(answer(422, "idempotency_key_reused"))).toBe(false);
    expect(isRetriable(answer(500, "internal_error"))).toBe(false);
    expect(isRetriable(ApiError.signedOut())).toBe(false);
    expect(isRetriable(new Error("bug"))).toBe(false);
  });
});

describe("retryDelayMs", () => {
  it("backs off exponentially, then gives up", () => {
    expect([0, 1, 2, 3].map((i) => retryDelayMs(ApiError.network(), i, policy))).toEqual([100, 200, 400, null]);
  });

  it("waits out a throttle's Retry-After, unless it is longer than the policy allows", () => {
    expect(retryDelayMs(answer(429, "throttled", { retry_after_seconds: 2 }), 0, policy)).toBe(2000);
    expect(retryDelayMs(answer(429, "throttled", { retry_after_seconds: 60 }), 0, policy)).toBeNull();
  });
});

describe("withRetries", () => {
  it("sends again after a retriable failure and returns the first success", async () => {
    const send = vi.fn().mockRejectedValueOnce(answer(503)).mockRejectedValueOnce(ApiError.network()).mockResolvedValue("ok");
    const sleep = vi.fn(async () => undefined);
    const onRetry = vi.fn();
    expect(await withRetries(send, { policy, sleep, onRetry })).toBe("ok");
    expect(send).toHaveBeenCalledTimes(3);
    expect(sleep.mock.calls).toEqual([[100], [200]]);
    expect(onRetry).toHaveBeenCalledTimes(2);
  });

  it("throws a final answer at once", async () => {
    const refusal = answer(422, "validation_error");
    const send = vi.fn().mockRejectedValue(refusal);
    await expect(withRetries(send, { policy, sleep: async () => undefined })).rejects.toBe(refusal);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it("throws the last failure once the retries are spent", async () => {
    const send = vi.fn().mockRejectedValue(answer(503));
    await expect(withRetries(send, { policy, sleep: async () => undefined })).rejects.toMatchObject({ status: 503 });
    expect(send).toHaveBeenCalledTimes(4);
  });
});

import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../../../src/api/errors";
import { IdempotentAttempt } from "../../../src/orders/attempt";

const noWait = { policy: { maxRetries: 2, baseDelayMs: 1, maxWaitMs: 1000 }, sleep: async () => undefined };
const refusal = (status: number, code: string) => ApiError.fromResponse(status, JSON.stringify({ code, message: "m", details: {} }));

function setUp(send: (payload: { items: string[] }, key: string) => Promise<string>) {
  let counter = 0;
  const sendSpy = vi.fn(send);
  const attempt = new IdempotentAttempt<{ items: string[] }, string>({
    send: sendSpy,
    newKey: () => `key-${++counter}`,
    retry: noWait,
  });
  return { attempt, send: sendSpy, keys: () => sendSpy.mock.calls.map(([, key]) => key) };
}

describe("IdempotentAttempt", () => {
  it("sends a double click once: the second press gets the first press's answer", async () => {
    let release!: (value: string) => void;
    const { attempt, send } = setUp(() => new Promise((resolve) => (release = resolve)));
    const first = attempt.run({ items: ["a"] });
    const second = attempt.run({ items: ["a"] });
    expect(attempt.busy).toBe(true);
    release("order-1");
    expect(await Promise.all([first, second])).toEqual(["order-1", "order-1"]);
    expect(send).toHaveBeenCalledTimes(1);
    expect(attempt.busy).toBe(false);
  });

  it("retries a lost reply, a 503 and a 429 under the same key", async () => {
    const failures = [ApiError.network(), refusal(503, "fault_injected_lost_ack")];
    const { attempt, keys } = setUp(async () => {
      const failure = failures.shift();
      if (failure) throw failure;
      return "order-1";
    });
    expect(await attempt.run({ items: ["a"] })).toBe("order-1");
    expect(keys()).toEqual(["key-1", "key-1", "key-1"]);
  });

  it("keeps the key for a press after the retries ran out, until the attempt ends", async () => {
    let failing = true;
    const { attempt, keys } = setUp(async () => {
      if (failing) throw refusal(503, "service_unavailable");
      return "order-1";
    });
    await expect(attempt.run({ items: ["a"] })).rejects.toBeInstanceOf(ApiError);
    expect(attempt.currentKey).toBe("key-1");
    failing = false;
    await attempt.run({ items: ["a"] });
    expect(new Set(keys())).toEqual(new Set(["key-1"]));
    expect(attempt.currentKey).toBeNull();
  });

  it("makes a new key once the cart changed", async () => {
    const { attempt, keys } = setUp(async () => {
      throw ApiError.network();
    });
    await attempt.run({ items: ["a"] }).catch(() => undefined);
    await attempt.run({ items: ["a", "b"] }).catch(() => undefined);
    expect(new Set(keys())).toEqual(new Set(["key-1", "key-2"]));
  });

  it("makes a new key once the attempt ended, accepted or finally refused", async () => {
    const answers: (string | ApiError)[] = ["order-1", refusal(400, "validation_error"), "order-2"];
    const { attempt, keys } = setUp(async () => {
      const next = answers.shift();
      if (next instanceof ApiError) throw next;
      return next ?? "";
    });
    await attempt.run({ items: ["a"] });
    await attempt.run({ items: ["a"] }).catch(() => undefined);
    await attempt.run({ items: ["a"] });
    expect(keys()).toEqual(["key-1", "key-2", "key-3"]);
  });
});

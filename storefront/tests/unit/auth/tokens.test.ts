import { describe, expect, it, vi } from "vitest";
import { refreshDelayMs, TokenSession, type Timer, type TokenResponse } from "../../../src/auth/tokens";

/** A timer the test fires by hand, to see exactly what is planned. */
class ManualTimer implements Timer {
  planned: { callback: () => void; delayMs: number; cleared: boolean }[] = [];
  set(callback: () => void, delayMs: number): unknown {
    const entry = { callback, delayMs, cleared: false };
    this.planned.push(entry);
    return entry;
  }
  clear(handle: unknown): void {
    (handle as { cleared: boolean }).cleared = true;
  }
  get active() {
    return this.planned.filter((entry) => !entry.cleared);
  }
  /** Fire the one planned callback, as the clock would. */
  fireOnly(): void {
    expect(this.active).toHaveLength(1);
    const entry = this.active[0];
    if (entry) {
      entry.cleared = true;
      entry.callback();
    }
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("refreshDelayMs", () => {
  it("refreshes a minute before expiry", () => {
    expect(refreshDelayMs(900)).toBe(840_000);
    expect(refreshDelayMs(3600)).toBe(3_540_000);
  });

  it("refreshes a short-lived token halfway through its life", () => {
    expect(refreshDelayMs(120)).toBe(60_000);
    expect(refreshDelayMs(60)).toBe(30_000);
  });

  it("plans nothing when the life is unknown", () => {
    expect(refreshDelayMs(undefined)).toBeNull();
    expect(refreshDelayMs(0)).toBeNull();
    expect(refreshDelayMs(Number.NaN)).toBeNull();
  });
});

describe("TokenSession", () => {
  it("plans a refresh 60 s before expiry and keeps the newest rotated refresh token", async () => {
    const timer = new ManualTimer();
    const refreshTokens = vi.fn(async (refreshToken: string): Promise<TokenResponse> => ({
      access_token: `access-after-${refreshToken}`,
      refresh_token: `${refreshToken}+`,
      expires_in: 900,
    }));
    const session = new TokenSession({ refreshTokens, timer });
    session.accept({ access_token: "a1", refresh_token: "r1", expires_in: 900 });
    expect(timer.active.map((entry) => entry.delayMs)).toEqual([840_000]);

    timer.fireOnly();
    await vi.waitFor(() => expect(session.accessToken).toBe("access-after-r1"));
    expect(session.refreshToken).toBe("r1+");
    expect(timer.active.map((entry) => entry.delayMs)).toEqual([840_000]);

    timer.fireOnly();
    await vi.waitFor(() => expect(session.refreshToken).toBe("r1++"));
    expect(refreshTokens.mock.calls.map(([token]) => token)).toEqual(["r1", "r1+"]);
  });

  it("keeps the refresh token it has when a refresh returns none", async () => {
    const session = new TokenSession({ refreshTokens: async () => ({ access_token: "a2", expires_in: 900 }), timer: new ManualTimer() });
    session.accept({ access_token: "a1", refresh_token: "r1", expires_in: 900 });
    expect(await session.renew()).toBe(true);
    expect(session.refreshToken).toBe("r1");
  });

  it("runs one refresh for many callers at once, so a rotated token is never sent twice", async () => {
    const answer = deferred<TokenResponse>();
    const refreshTokens = vi.fn(() => answer.promise);
    const session = new TokenSession({ refreshTokens, timer: new ManualTimer() });
    session.accept({ access_token: "a1", refresh_token: "r1", expires_in: 900 });
    const renewals = [session.renew("a1"), session.renew("a1"), session.renew()];
    answer.resolve({ access_token: "a2", refresh_token: "r2", expires_in: 900 });
    expect(await Promise.all(renewals)).toEqual([true, true, true]);
    expect(refreshTokens).toHaveBeenCalledTimes(1);
  });

  it("does not refresh for a refused token that a newer one already replaced", async () => {
    const refreshTokens = vi.fn();
    const session = new TokenSession({ refreshTokens, timer: new ManualTimer() });
    session.accept({ access_token: "a2", refresh_token: "r2", expires_in: 900 });
    expect(await session.renew("a1")).toBe(true);
    expect(refreshTokens).not.toHaveBeenCalled();
  });

  it("signs out locally when a refresh fails", async () => {
    const timer = new ManualTimer();
    const session = new TokenSession({ refreshTokens: async () => Promise.reject(new Error("invalid_grant")), timer });
    const events: string[] = [];
    session.onChange((event) => events.push(event));
    session.accept({ access_token: "a1", refresh_token: "r1", expires_in: 900 });
    expect(await session.renew("a1")).toBe(false);
    expect(session.accessToken).toBeNull();
    expect(session.refreshToken).toBeNull();
    expect(timer.active).toHaveLength(0);
    expect(events).toEqual(["tokens", "ended"]);
  });

  it("cannot renew without a refresh token, and cancels the plan when cleared", async () => {
    const timer = new ManualTimer();
    const session = new TokenSession({ refreshTokens: vi.fn(), timer });
    expect(await session.renew()).toBe(false);
    session.accept({ access_token: "a1", refresh_token: "r1", expires_in: 900 });
    session.clear();
    expect(timer.active).toHaveLength(0);
    expect(session.accessToken).toBeNull();
  });
});

import { createHash } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../../../src/api/errors";
import type { IdentityClient } from "../../../src/auth/identity";
import { PENDING_KEY, SIGNED_IN_KEY, SignInFlow } from "../../../src/auth/signin";
import { TokenSession, type Timer } from "../../../src/auth/tokens";
import { parseConfig } from "../../../src/config";

const config = parseConfig({ identity: "http://id.example", client_id: "storefront", faults: {} });
const idleTimer: Timer = { set: () => null, clear: () => undefined };

function setUp(identity: Partial<IdentityClient> = {}) {
  const storage = new Map<string, string>();
  const store = {
    getItem: (key: string) => storage.get(key) ?? null,
    setItem: (key: string, value: string) => void storage.set(key, value),
    removeItem: (key: string) => void storage.delete(key),
  };
  const navigate = vi.fn<(url: string) => void>();
  const session = new TokenSession({ refreshTokens: vi.fn(), timer: idleTimer });
  const flow = new SignInFlow({
    config,
    storage: store,
    navigate,
    origin: "http://127.0.0.1:8000",
    identity: identity as IdentityClient,
    session,
  });
  return { storage, navigate, session, flow };
}

describe("SignInFlow", () => {
  it("keeps only the verifier, the state and the route, and sends the verifier's S256 challenge", async () => {
    const { storage, navigate, flow } = setUp();
    await flow.begin("#/orders");
    expect([...storage.keys()]).toEqual([PENDING_KEY]);
    const pending = JSON.parse(storage.get(PENDING_KEY) ?? "{}");
    expect(Object.keys(pending).sort()).toEqual(["route", "state", "verifier"]);
    const url = new URL(navigate.mock.calls[0]?.[0] ?? "");
    expect(url.searchParams.get("state")).toBe(pending.state);
    expect(url.searchParams.get("code_challenge")).toBe(createHash("sha256").update(pending.verifier).digest("base64url"));
    expect(url.searchParams.get("redirect_uri")).toBe("http://127.0.0.1:8000/");
  });

  it("goes to sign-up first when creating an account", async () => {
    const { navigate, flow } = setUp();
    await flow.begin("#/", { signUp: true });
    expect(navigate.mock.calls[0]?.[0]).toMatch(/^http:\/\/id\.example\/accounts\/sign-up\?next=%2Foauth%2Fauthorize%3F/);
  });

  it("redeems the code with the verifier, keeps the tokens in memory and only a flag in storage", async () => {
    const exchangeCode = vi.fn(async () => ({ access_token: "access", refresh_token: "refresh", expires_in: 900 }));
    const { storage, flow, session } = setUp({ exchangeCode });
    await flow.begin("#/account");
    const pending = JSON.parse(storage.get(PENDING_KEY) ?? "{}");
    const outcome = await flow.complete(`?code=the-code&state=${pending.state}`);
    expect(outcome).toEqual({ kind: "signed-in", route: "#/account" });
    expect(exchangeCode).toHaveBeenCalledWith({ code: "the-code", verifier: pending.verifier, redirectUri: "http://127.0.0.1:8000/" });
    expect(session.accessToken).toBe("access");
    expect([...storage.entries()]).toEqual([[SIGNED_IN_KEY, "1"]]);
    expect(flow.shouldResume).toBe(false);
  });

  it("asks for no token when the state does not match", async () => {
    const exchangeCode = vi.fn();
    const { storage, flow } = setUp({ exchangeCode });
    await flow.begin("#/");
    const outcome = await flow.complete("?code=the-code&state=somebody-elses");
    expect(outcome.kind).toBe("failed");
    expect(exchangeCode).not.toHaveBeenCalled();
    expect(storage.has(PENDING_KEY)).toBe(false);
  });

  it("reports a refused code in words and forgets the signed-in flag", async () => {
    const exchangeCode = vi.fn(async () => {
      throw ApiError.fromResponse(400, JSON.stringify({ error: "invalid_grant" }));
    });
    const { storage, flow } = setUp({ exchangeCode });
    storage.set(SIGNED_IN_KEY, "1");
    await flow.begin("#/");
    const pending = JSON.parse(storage.get(PENDING_KEY) ?? "{}");
    expect(await flow.complete(`?code=old&state=${pending.state}`)).toEqual({
      kind: "failed",
      message: "The sign-in is no longer valid. Please sign in again.",
      route: "#/",
    });
    expect(storage.has(SIGNED_IN_KEY)).toBe(false);
  });

  it("resumes after a reload: the flag is set but the tokens are gone", () => {
    const { storage, flow } = setUp();
    expect(flow.shouldResume).toBe(false);
    storage.set(SIGNED_IN_KEY, "1");
    expect(flow.shouldResume).toBe(true);
  });

  it("signs out by clearing memory and the flag, revoking the refresh token, then logging out at identity_svc", async () => {
    const order: string[] = [];
    const { storage, navigate, flow, session } = setUp({
      revoke: vi.fn(async (token: string) => {
        order.push(`revoke ${token} (signed in: ${session.accessToken !== null || storage.has(SIGNED_IN_KEY)})`);
      }),
    });
    session.accept({ access_token: "access", refresh_token: "refresh-2" });
    storage.set(SIGNED_IN_KEY, "1");
    navigate.mockImplementation((url) => void order.push(`go ${new URL(url).pathname}`));
    await flow.signOut();
    expect(order).toEqual(["revoke refresh-2 (signed in: false)", "go /oauth/logout"]);
  });

  it("still logs out when revoking fails", async () => {
    const { navigate, flow, session } = setUp({ revoke: vi.fn(async () => Promise.reject(ApiError.network())) });
    session.accept({ access_token: "access", refresh_token: "refresh" });
    await flow.signOut();
    expect(navigate).toHaveBeenCalledTimes(1);
  });
});

import { describe, expect, it, vi } from "vitest";
import { ApiClient, type TokenSource } from "../../../src/api/client";
import { ApiError } from "../../../src/api/errors";

type Call = { url: string; init: RequestInit };

function client(responses: (Response | Error)[], tokens: TokenSource) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const next = responses.shift();
    if (!next) throw new Error("unexpected call");
    if (next instanceof Error) throw next;
    return next;
  });
  return { api: new ApiClient({ tokens, fetch }), calls };
}

function tokens(initial: string | null, renewed: string | null = null): TokenSource & { renew: ReturnType<typeof vi.fn> } {
  const source = {
    accessToken: initial,
    renew: vi.fn(async () => {
      source.accessToken = renewed;
      return renewed !== null;
    }),
  };
  return source;
}

const header = (call: Call | undefined, name: string) => (call?.init.headers as Record<string, string>)[name];
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });

describe("ApiClient", () => {
  it("sends the bearer token, JSON and the Idempotency-Key, and no cookies", async () => {
    const { api, calls } = client([json({ id: "o1" }, 202)], tokens("t1"));
    expect(await api.post("/api/v1/orders", { items: [] }, { idempotencyKey: "k1" })).toEqual({ id: "o1" });
    expect(header(calls[0], "Authorization")).toBe("Bearer t1");
    expect(header(calls[0], "Idempotency-Key")).toBe("k1");
    expect(header(calls[0], "Content-Type")).toBe("application/json");
    expect(calls[0]?.init.body).toBe('{"items":[]}');
    expect(calls[0]?.init.credentials).toBe("omit");
  });

  it("sends no token on a public read, even when signed in", async () => {
    const { api, calls } = client([json({ results: [] })], tokens("t1"));
    await api.get("/api/v1/catalog", { anonymous: true });
    expect(header(calls[0], "Authorization")).toBeUndefined();
  });

  it("renews a refused token once and sends the same call again with the new one", async () => {
    const source = tokens("old", "new");
    const { api, calls } = client([json({ code: "invalid_token", message: "Expired." }, 401), json({ ok: true })], source);
    expect(await api.post("/x", {}, { idempotencyKey: "same" })).toEqual({ ok: true });
    expect(source.renew).toHaveBeenCalledWith("old");
    expect(calls.map((call) => header(call, "Authorization"))).toEqual(["Bearer old", "Bearer new"]);
    expect(calls.map((call) => header(call, "Idempotency-Key"))).toEqual(["same", "same"]);
  });

  it("is signed out when the renewal fails, or the new token is refused too", async () => {
    const failing = client([json({}, 401)], tokens("old", null));
    await expect(failing.api.get("/x")).rejects.toMatchObject({ kind: "signed_out" });

    const refusedTwice = client([json({}, 401), json({ code: "invalid_token", message: "No." }, 401)], tokens("old", "new"));
    await expect(refusedTwice.api.get("/x")).rejects.toMatchObject({ kind: "http", status: 401 });
    expect(refusedTwice.calls).toHaveLength(2);
  });

  it("sends nothing when no one is signed in", async () => {
    const { api, calls } = client([], tokens(null));
    await expect(api.get("/x")).rejects.toMatchObject({ kind: "signed_out" });
    expect(calls).toHaveLength(0);
  });

  it("turns a failed fetch into a network error and a refusal into its error shape", async () => {
    const offline = client([new TypeError("Failed to fetch")], tokens("t"));
    await expect(offline.api.get("/x")).rejects.toMatchObject({ kind: "network" });

    const refused = client([json({ code: "order_not_found", message: "No order has this id.", details: {} }, 404)], tokens("t"));
    const error = await refused.api.get("/x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: "order_not_found", message: "No order has this id." });
  });

  it("answers nothing for 204", async () => {
    const { api } = client([new Response(null, { status: 204 })], tokens("t"));
    expect(await api.delete("/faults")).toBeUndefined();
  });
});

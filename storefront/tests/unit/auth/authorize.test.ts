import { describe, expect, it } from "vitest";
import {
  authorizeUrl,
  logoutUrl,
  parsePending,
  readCallback,
  redirectUriFor,
  safeRoute,
  signUpUrl,
} from "../../../src/auth/authorize";
import { parseConfig } from "../../../src/config";

const config = parseConfig({ identity: "http://id.example:8005", client_id: "storefront", faults: {} });
const pending = { verifier: "v".repeat(43), state: "state-1", route: "#/orders" };

describe("the authorize request", () => {
  it("asks for a code with an S256 challenge, the exact redirect URI and the shop's scopes", () => {
    const url = new URL(authorizeUrl(config, { challenge: "chal", state: "st", redirectUri: redirectUriFor("https://shop.example") }));
    expect(url.origin + url.pathname).toBe("http://id.example:8005/oauth/authorize");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code",
      client_id: "storefront",
      redirect_uri: "https://shop.example/",
      scope: "openid profile email orders",
      code_challenge: "chal",
      code_challenge_method: "S256",
      state: "st",
    });
  });

  it("sends a new customer to sign-up with the authorize path and query as next", () => {
    const authorize = authorizeUrl(config, { challenge: "c", state: "s", redirectUri: "http://127.0.0.1:8000/" });
    const url = new URL(signUpUrl(config, authorize));
    expect(url.origin + url.pathname).toBe("http://id.example:8005/accounts/sign-up");
    const next = url.searchParams.get("next") ?? "";
    expect(next.startsWith("/oauth/authorize?response_type=code&")).toBe(true);
    expect(new URL(next, "http://id.example:8005").toString()).toBe(authorize);
  });

  it("ends the provider's session with the client id and where to come back", () => {
    const url = new URL(logoutUrl(config, "http://127.0.0.1:8000/"));
    expect(url.pathname).toBe("/oauth/logout");
    expect(url.searchParams.get("client_id")).toBe("storefront");
    expect(url.searchParams.get("post_logout_redirect_uri")).toBe("http://127.0.0.1:8000/");
  });
});

describe("readCallback", () => {
  it("ignores a page that was not opened by the redirect", () => {
    expect(readCallback("", pending)).toEqual({ kind: "none" });
    expect(readCallback("?page=2", null)).toEqual({ kind: "none" });
  });

  it("hands out the code and the verifier when the state matches", () => {
    expect(readCallback("?code=abc&state=state-1&iss=http%3A%2F%2Fother", pending)).toEqual({
      kind: "code",
      code: "abc",
      verifier: pending.verifier,
      route: "#/orders",
    });
  });

  it("refuses an answer whose state does not match, or that nobody here asked for", () => {
    const mismatch = readCallback("?code=abc&state=forged", pending);
    expect(mismatch.kind).toBe("error");
    expect(mismatch).toMatchObject({ route: "#/orders" });
    expect(readCallback("?code=abc&state=state-1", null).kind).toBe("error");
  });

  it("puts a refusal from identity_svc in words", () => {
    const denied = readCallback("?error=access_denied&state=state-1", pending);
    expect(denied).toEqual({ kind: "error", message: "Signing in was cancelled.", route: "#/orders" });
    const other = readCallback("?error=server_error&error_description=Try+later&state=state-1", pending);
    expect(other.kind === "error" && other.message).toBe("Signing in did not complete. Please try again.");
  });

  it("never shows a link's own words, and tells an error only for this page's request", () => {
    const crafted = "?error=server_error&error_description=Call+us+at+555&state=state-1";
    const shown = readCallback(crafted, pending);
    expect(shown.kind === "error" && shown.message).not.toContain("555");
    const foreign = readCallback("?error=server_error&error_description=Call+us&state=other", pending);
    expect(foreign.kind === "error" && foreign.message).toContain("did not match");
    const unasked = readCallback("?error=server_error&error_description=Call+us", null);
    expect(unasked.kind === "error" && unasked.message).toContain("not started here");
  });
});

describe("saved routes", () => {
  it("returns only to the page's own hash routes", () => {
    expect(safeRoute("#/orders/1")).toBe("#/orders/1");
    expect(safeRoute("https://evil.example/")).toBe("#/");
    expect(safeRoute("javascript:alert(1)")).toBe("#/");
    expect(safeRoute(undefined)).toBe("#/");
  });

  it("reads a saved sign-in, and treats a damaged one as none", () => {
    expect(parsePending(JSON.stringify(pending))).toEqual(pending);
    expect(parsePending("{not json")).toBeNull();
    expect(parsePending(JSON.stringify({ verifier: "v" }))).toBeNull();
    expect(parsePending(null)).toBeNull();
  });
});

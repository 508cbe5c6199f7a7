/**
 * The addresses of the sign-in flow and the reading of identity_svc's answer. Pure functions: the
 * browser side (storage, navigation) lives in signin.ts.
 */

import type { StorefrontConfig } from "../config";

export const SCOPES = "openid profile email orders";

/** What the page keeps in sessionStorage between leaving for identity_svc and coming back. */
export interface PendingSignIn {
  verifier: string;
  state: string;
  /** The hash route to return to, like `#/orders`. */
  route: string;
}

export type CallbackResult =
  | { kind: "none" }
  | { kind: "error"; message: string; route: string }
  | { kind: "code"; code: string; verifier: string; route: string };

export const HOME_ROUTE = "#/";

/** The redirect URI is always the page's origin with a trailing slash, exactly as it is registered. */
export function redirectUriFor(origin: string): string {
  return `${origin}/`;
}

export function authorizeUrl(
  config: StorefrontConfig,
  request: { challenge: string; state: string; redirectUri: string },
): string {
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: request.redirectUri,
    scope: SCOPES,
    code_challenge: request.challenge,
    code_challenge_method: "S256",
    state: request.state,
  });
  return `${config.identity}/oauth/authorize?${query.toString()}`;
}

/**
 * identity_svc's sign-up page, which continues to its sign-in page with the same `next`, and sign-in
 * follows `next` back to the authorize request: `next` is the authorize URL's path and query.
 */
export function signUpUrl(config: StorefrontConfig, authorize: string): string {
  const url = new URL(authorize, "http://placeholder.invalid");
  const next = `${url.pathname}${url.search}`;
  return `${config.identity}/accounts/sign-up?next=${encodeURIComponent(next)}`;
}

export function logoutUrl(config: StorefrontConfig, postLogoutRedirectUri: string): string {
  const query = new URLSearchParams({ client_id: config.client_id, post_logout_redirect_uri: postLogoutRedirectUri });
  return `${config.identity}/oauth/logout?${query.toString()}`;
}

/** A saved route is used only when it is one of the page's own hash routes. */
export function safeRoute(route: string | undefined): string {
  return route && /^#\/[^\s]*$/.test(route) ? route : HOME_ROUTE;
}

/**
 * Fixed words per error code: the redirect's `error_description` is anyone's text (a crafted link
 * can carry it), so the page never shows it.
 */
function refusalWords(error: string): string {
  if (error === "access_denied") {
    return "Signing in was cancelled.";
  }
  return "Signing in did not complete. Please try again.";
}

/**
 * Read the redirect's query (`?code=&state=` or `?error=&state=`) against what was saved before
 * leaving. A state that does not match means the answer belongs to another request: it is refused,
 * and no token is asked for; an error is told only once its state matches. The `iss` parameter is ignored (the page does not fetch discovery).
 */
export function readCallback(search: string, pending: PendingSignIn | null): CallbackResult {
  const params = new URLSearchParams(search);
  const code = params.get("code");
  const error = params.get("error");
  if (code === null && error === null) {
    return { kind: "none" };
  }
  const route = safeRoute(pending?.route);
  if (pending === null) {
    return {
      kind: "error",
      message: "This sign-in was not started here, or it has expired. Please sign in again.",
      route,
    };
  }
  if (params.get("state") !== pending.state) {
    return {
      kind: "error",
      message: "The answer from the sign-in page did not match this page's request, so it was ignored. Please sign in again.",
      route,
    };
  }
  if (error !== null) {
    return { kind: "error", message: refusalWords(error), route };
  }
  return { kind: "code", code: code ?? "", verifier: pending.verifier, route };
}

export function parsePending(raw: string | null): PendingSignIn | null {
  if (raw === null) {
    return null;
  }
  try {
    const value = JSON.parse(raw) as Partial<PendingSignIn>;
    if (typeof value.verifier === "string" && typeof value.state === "string") {
      return { verifier: value.verifier, state: value.state, route: safeRoute(value.route) };
    }
  } catch {
    // A damaged entry is treated as no entry at all.
  }
  return null;
}

/**
 * The browser side of signing in and out. Before leaving for identity_svc, only the PKCE verifier,
 * the state and the route to return to are written to sessionStorage, and they are removed as soon
 * as the answer comes back. Tokens never go to storage: the only other entry is a non-secret flag
 * that says someone was signed in, so that after a reload the page quietly signs in again
 * (identity_svc's own session makes that a round trip without a form).
 */

import { describeError } from "../api/errors";
import type { StorefrontConfig } from "../config";
import {
  authorizeUrl,
  logoutUrl,
  parsePending,
  readCallback,
  redirectUriFor,
  safeRoute,
  signUpUrl,
  type PendingSignIn,
} from "./authorize";
import type { IdentityClient } from "./identity";
import { createPkcePair, createState } from "./pkce";
import type { TokenSession } from "./tokens";

export const PENDING_KEY = "storefront.sign-in";
export const SIGNED_IN_KEY = "storefront.signed-in";

/** The part of the Storage interface this module uses, so a test can hand in a map. */
export type KeyValueStore = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export type SignInOutcome =
  | { kind: "none" }
  | { kind: "signed-in"; route: string }
  | { kind: "failed"; message: string; route: string };

export class SignInFlow {
  private readonly config: StorefrontConfig;
  private readonly storage: KeyValueStore;
  private readonly navigate: (url: string) => void;
  private readonly identity: IdentityClient;
  private readonly session: TokenSession;
  readonly redirectUri: string;

  constructor(deps: {
    config: StorefrontConfig;
    storage: KeyValueStore;
    navigate: (url: string) => void;
    origin: string;
    identity: IdentityClient;
    session: TokenSession;
  }) {
    this.config = deps.config;
    this.storage = deps.storage;
    this.navigate = deps.navigate;
    this.identity = deps.identity;
    this.session = deps.session;
    this.redirectUri = redirectUriFor(deps.origin);
    this.session.onChange((event) => {
      if (event === "ended") {
        this.storage.removeItem(SIGNED_IN_KEY);
      }
    });
  }

  /** Someone was signed in on this tab, but the tokens were lost (a reload): sign in again. */
  get shouldResume(): boolean {
    return this.storage.getItem(SIGNED_IN_KEY) !== null && this.session.accessToken === null;
  }

  /** Leave for identity_svc's authorize endpoint, or for its sign-up page first. */
  async begin(route: string, options: { signUp?: boolean } = {}): Promise<void> {
    const { verifier, challenge } = await createPkcePair();
    const pending: PendingSignIn = { verifier, state: createState(), route: safeRoute(route) };
    this.storage.setItem(PENDING_KEY, JSON.stringify(pending));
    const authorize = authorizeUrl(this.config, { challenge, state: pending.state, redirectUri: this.redirectUri });
    this.navigate(options.signUp ? signUpUrl(this.config, authorize) : authorize);
  }

  /** Finish a sign-in when the page was opened by identity_svc's redirect (`?code=&state=` or `?error=`). */
  async complete(search: string): Promise<SignInOutcome> {
    const result = readCallback(search, parsePending(this.storage.getItem(PENDING_KEY)));
    if (result.kind === "none") {
      return result;
    }
    this.storage.removeItem(PENDING_KEY);
    if (result.kind === "error") {
      this.storage.removeItem(SIGNED_IN_KEY);
      return { kind: "failed", message: result.message, route: result.route };
    }
    try {
      const tokens = await this.identity.exchangeCode({
        code: result.code,
        verifier: result.verifier,
        redirectUri: this.redirectUri,
      });
      this.session.accept(tokens);
    } catch (error) {
      this.storage.removeItem(SIGNED_IN_KEY);
      return { kind: "failed", message: describeError(error), route: result.route };
    }
    this.storage.setItem(SIGNED_IN_KEY, "1");
    return { kind: "signed-in", route: result.route };
  }

  /**
   * Forget the tokens and the flag first, then revoke the refresh token at identity_svc (best effort:
   * the sign-out goes on if that fails), then end identity_svc's own session (RP-initiated logout).
   */
  async signOut(): Promise<void> {
    const refreshToken = this.session.refreshToken;
    this.session.clear();
    this.storage.removeItem(SIGNED_IN_KEY);
    this.storage.removeItem(PENDING_KEY);
    if (refreshToken) {
      await this.identity.revoke(refreshToken).catch(() => undefined);
    }
    this.navigate(logoutUrl(this.config, this.redirectUri));
  }
}

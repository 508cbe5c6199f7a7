/**
 * The page's start: read config.json, finish a sign-in that identity_svc redirected back to, sign in
 * again quietly after a reload, then show the shop.
 */

import "./style.css";
import type { AppContext } from "./app";
import { ApiClient } from "./api/client";
import { describeError } from "./api/errors";
import { ShopApi } from "./api/shop";
import type { Order, PlaceOrderBody } from "./api/types";
import { identityFromToken } from "./auth/claims";
import { IdentityClient } from "./auth/identity";
import { SignInFlow } from "./auth/signin";
import { TokenSession } from "./auth/tokens";
import { loadConfig, type StorefrontConfig } from "./config";
import { IdempotentAttempt } from "./orders/attempt";
import { Cart } from "./orders/cart";
import { alertRegion, mountShell } from "./shell";
import { fill, h } from "./ui/dom";

async function start(root: HTMLElement): Promise<void> {
  let config: StorefrontConfig;
  try {
    config = await loadConfig();
  } catch {
    fill(root, h("p", { class: "alert", attrs: { role: "alert", "data-testid": "error" } },
      "The shop could not load its settings. Please reload the page in a moment."));
    return;
  }

  const identity = new IdentityClient(config);
  const session = new TokenSession({ refreshTokens: (refreshToken) => identity.refresh(refreshToken) });
  const signIn = new SignInFlow({
    config,
    storage: sessionStorage,
    navigate: (url) => location.assign(url),
    origin: location.origin,
    identity,
    session,
  });
  const shop = new ShopApi(config, new ApiClient({ tokens: session }));
  const alert = alertRegion();

  const outcome = await signIn.complete(location.search);
  if (outcome.kind !== "none") {
    // Take the code and state out of the address bar, and return to where the person was.
    history.replaceState(null, "", `${location.pathname}${outcome.route}`);
  }
  if (outcome.kind === "none" && signIn.shouldResume) {
    fill(root, h("p", { class: "boot", attrs: { role: "status" } }, "Signing you in again…"));
    try {
      await signIn.begin(location.hash || "#/");
      return;
    } catch (error) {
      alert.show(error);
    }
  }

  const app: AppContext = {
    config,
    shop,
    session,
    signIn,
    cart: new Cart(),
    placement: new IdempotentAttempt<PlaceOrderBody, Order>({ send: (body, key) => shop.placeOrder(body, key) }),
    who: () => (session.accessToken ? identityFromToken(session.accessToken) : null),
    navigate: (hash) => {
      location.hash = hash;
    },
    alert,
  };
  mountShell(root, app, alert.element);
  if (outcome.kind === "failed") {
    alert.show(outcome.message);
  }
}

const root = document.getElementById("app");
if (root) {
  start(root).catch((error: unknown) => {
    fill(root, h("p", { class: "alert", attrs: { role: "alert", "data-testid": "error" } }, describeError(error)));
  });
}

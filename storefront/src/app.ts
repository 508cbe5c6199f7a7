/**
 * What every screen is handed: the configuration, the typed API, the session, the cart and the
 * order placement that outlive a screen, and the page's one alert region.
 */

import type { ShopApi } from "./api/shop";
import type { Order, PlaceOrderBody } from "./api/types";
import type { Identity } from "./auth/claims";
import type { SignInFlow } from "./auth/signin";
import type { TokenSession } from "./auth/tokens";
import type { StorefrontConfig } from "./config";
import type { Cart } from "./orders/cart";
import type { IdempotentAttempt } from "./orders/attempt";

export interface Alert {
  /** Show an error (or a sentence) in the page's role="alert" region. */
  show(error: unknown): void;
  clear(): void;
}

export interface AppContext {
  config: StorefrontConfig;
  shop: ShopApi;
  session: TokenSession;
  signIn: SignInFlow;
  cart: Cart;
  /** Placing the cart's order: one Idempotency-Key per attempt, kept across screens. */
  placement: IdempotentAttempt<PlaceOrderBody, Order>;
  who(): Identity | null;
  navigate(hash: string): void;
  alert: Alert;
}

/** A screen: its element, and what to stop (timers, polling) when the person leaves it. */
export interface View {
  element: HTMLElement;
  dispose?: () => void;
}

/**
 * The frame around every screen: the header with navigation and who is signed in, the alert region,
 * and the hash router that swaps screens and stops the old screen's polling.
 */

import type { AppContext, View } from "./app";
import { describeError } from "./api/errors";
import { fill, h, setText } from "./ui/dom";
import { parseRoute, type Route } from "./ui/router";
import { accountView } from "./views/account";
import { screenHeading } from "./views/common";
import { operatorView } from "./views/operator";
import { orderView } from "./views/order";
import { ordersView } from "./views/orders";
import { shopView } from "./views/shop";

export function alertRegion(): { element: HTMLElement; show(error: unknown): void; clear(): void } {
  const element = h("div", { class: "alert", attrs: { role: "alert", "data-testid": "error" } });
  return {
    element,
    show(error: unknown): void {
      setText(element, typeof error === "string" ? error : describeError(error));
    },
    clear(): void {
      setText(element, "");
    },
  };
}

function viewFor(app: AppContext, route: Route): View {
  switch (route.name) {
    case "shop":
      return shopView(app);
    case "orders":
      return ordersView(app);
    case "order":
      return orderView(app, route.id);
    case "account":
      return accountView(app);
    case "operator":
      return operatorView(app);
    case "not-found":
      return {
        element: h("div", null, screenHeading("Not found"), h("p", null, "This page does not exist. ", h("a", { attrs: { href: "#/" } }, "Back to the shop"))),
      };
  }
}

export function mountShell(root: HTMLElement, app: AppContext, alertElement: HTMLElement): void {
  const nav = h("nav", { class: "main-nav", attrs: { "aria-label": "Main" } });
  const who = h("div", { class: "who" });
  const screen = h("div", { class: "screen" });
  let current: View | null = null;

  function renderHeader(): void {
    const identity = app.who();
    const hash = location.hash || "#/";
    const link = (href: string, text: string): HTMLAnchorElement =>
      h("a", { attrs: { href, "aria-current": parseRoute(hash).name === parseRoute(href).name ? "page" : null } }, text);
    fill(nav,
      h("ul", null,
        h("li", null, link("#/", "Shop")),
        h("li", null, link("#/orders", identity?.isOperator ? "Orders" : "My orders")),
        h("li", null, link("#/account", "Account")),
        identity?.isOperator ? h("li", null, link("#/operator", "Operator")) : null,
      ),
    );
    const begin = (signUp: boolean) => () =>
      void app.signIn.begin(location.hash || "#/", { signUp }).catch((error: unknown) => app.alert.show(error));
    if (identity) {
      fill(who,
        h("span", { attrs: { "data-testid": "signed-in-as" } },
          `Signed in as ${identity.subject}`, identity.isOperator ? " (operator)" : ""),
        h("button", { attrs: { type: "button" }, on: { click: () => void app.signIn.signOut() } }, "Sign out"),
      );
    } else {
      fill(who,
        h("button", { class: "primary", attrs: { type: "button" }, on: { click: begin(false) } }, "Sign in"),
        h("button", { attrs: { type: "button" }, on: { click: begin(true) } }, "Create account"),
      );
    }
  }

  function renderScreen(options: { focus: boolean }): void {
    current?.dispose?.();
    app.alert.clear();
    current = viewFor(app, parseRoute(location.hash));
    fill(screen, current.element);
    renderHeader();
    if (options.focus) {
      current.element.querySelector<HTMLElement>("h1")?.focus();
    }
  }

  fill(root,
    h("a", { class: "skip", attrs: { href: "#main" }, on: { click: (event) => { event.preventDefault(); main.focus(); } } }, "Skip to content"),
    h("header", { class: "site-header" },
      h("a", { class: "brand", attrs: { href: "#/" } }, "Saga shop"),
      nav,
      who,
    ),
    h("main", { attrs: { id: "main", tabindex: -1 } }, alertElement, screen),
    h("footer", { class: "site-footer" },
      h("p", null, "A demo shop: every order runs as a saga on Temporal, and what fails is undone."),
    ),
  );
  const main = root.querySelector<HTMLElement>("main") as HTMLElement;

  window.addEventListener("hashchange", () => renderScreen({ focus: true }));
  app.session.onChange((event) => {
    // A refresh keeps the same person signed in: only a sign-out or an ended session changes the screen.
    if (event === "tokens") {
      return;
    }
    renderScreen({ focus: false });
    if (event === "ended") {
      app.alert.show("Your session has ended. Please sign in again.");
    }
  });
  renderScreen({ focus: false });
}

/** Who is signed in, the customer's balance, and the notifications the shop sent about their orders. */

import type { AppContext, View } from "../app";
import { describeError } from "../api/errors";
import { formatMoney, formatTime, shortId } from "../format";
import { fill, h, setText } from "../ui/dom";
import { orderHash } from "../ui/router";
import { screenHeading, signInNote, statusRegion } from "./common";

const NOTIFICATION_WORDS: Record<string, string> = {
  "order.confirmed": "Order confirmed",
  "order.cancelled": "Order cancelled",
};

export function accountView(app: AppContext): View {
  const heading = screenHeading("Account");
  const who = app.who();
  if (!who) {
    return { element: h("div", null, heading, signInNote(app, "see your account")) };
  }

  const balance = h("div", { class: "balance", attrs: { "data-testid": "balance", "aria-live": "polite" } }, "Loading the balance…");
  const notificationsStatus = statusRegion();
  const notifications = h("ul", { class: "notifications", attrs: { "data-testid": "notifications" } });

  app.shop
    .account(who.subject)
    .then((account) =>
      fill(balance,
        h("dl", { class: "facts" },
          h("dt", null, "Available"), h("dd", { class: "amount" }, formatMoney(account.balance_cents, account.currency)),
          h("dt", null, "Held for orders in progress"), h("dd", null, formatMoney(account.held_cents, account.currency)),
          h("dt", null, "Paid in"), h("dd", null, formatMoney(account.deposited_cents, account.currency)),
        )))
    .catch((error: unknown) => fill(balance, h("p", { class: "refusal" }, describeError(error))));

  setText(notificationsStatus, "Loading notifications…");
  app.shop
    .notifications()
    .then((page) => {
      setText(notificationsStatus, page.count === 0 ? "No notifications yet." : "");
      fill(notifications, page.results.map((note) =>
        h("li", { attrs: { "data-order-id": note.order_id, "data-type": note.type } },
          h("strong", null, NOTIFICATION_WORDS[note.type] ?? note.type), ": ",
          note.subject, " ",
          h("a", { attrs: { href: orderHash(note.order_id) } }, `Order ${shortId(note.order_id)}`),
          h("small", null, ` ${note.status === "SENT" ? `sent ${formatTime(note.sent_at)}` : "not sent yet"}`),
        )));
    })
    .catch((error: unknown) => setText(notificationsStatus, describeError(error)));

  const element = h("div", { class: "account-screen" },
    heading,
    h("section", { class: "panel", attrs: { "aria-labelledby": "who-heading" } },
      h("h2", { attrs: { id: "who-heading" } }, "Signed in"),
      h("dl", { class: "facts" },
        h("dt", null, who.isOperator ? "Operator" : "Customer id"), h("dd", { class: "mono" }, who.subject),
        h("dt", null, "Roles"), h("dd", null, who.roles.length ? who.roles.join(", ") : "customer"),
      ),
    ),
    h("section", { class: "panel", attrs: { "aria-labelledby": "balance-heading" } },
      h("h2", { attrs: { id: "balance-heading" } }, "Balance"),
      balance,
    ),
    h("section", { class: "panel", attrs: { "aria-labelledby": "notifications-heading" } },
      h("h2", { attrs: { id: "notifications-heading" } }, "Notifications"),
      notificationsStatus,
      notifications,
    ),
  );
  return { element };
}

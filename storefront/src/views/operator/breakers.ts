/** The worker's circuit breakers, one per downstream service, read every two seconds. */

import type { AppContext } from "../../app";
import { describeError } from "../../api/errors";
import { formatTime } from "../../format";
import { h, setText } from "../../ui/dom";
import { poll } from "../../ui/poll";

const POLL_MS = 2000;

const STATE_WORDS: Record<string, string> = {
  closed: "closed: calls go through",
  open: "open: calls fail at once, until the service recovers",
  unknown: "unknown: no worker has reported it",
};

export function breakersPanel(app: AppContext): { element: HTMLElement; dispose(): void } {
  const list = h("ul", { class: "breakers" });
  const items = new Map<string, HTMLLIElement>();
  const readAt = h("p", { class: "hint" });
  const refusal = h("p", { class: "refusal" });

  const poller = poll(async () => {
    try {
      const answer = await app.shop.breakers();
      for (const breaker of answer.breakers) {
        let item = items.get(breaker.service);
        if (!item) {
          item = h("li", { attrs: { "data-testid": `breaker-${breaker.service}` } });
          items.set(breaker.service, item);
          list.appendChild(item);
        }
        item.dataset["state"] = breaker.state;
        item.className = `breaker breaker-${breaker.state}`;
        setText(item, `${breaker.service}: ${STATE_WORDS[breaker.state] ?? breaker.state}`);
      }
      setText(readAt, `Read at ${formatTime(answer.read_at)}.`);
      setText(refusal, "");
    } catch (error) {
      setText(refusal, describeError(error));
      app.alert.show(error);
    }
    return true;
  }, POLL_MS);

  const element = h("section", { class: "panel", attrs: { "aria-labelledby": "breakers-heading" } },
    h("h2", { attrs: { id: "breakers-heading" } }, "Circuit breakers"),
    refusal,
    list,
    readAt,
  );
  return { element, dispose: () => poller.stop() };
}

/**
 * The last scheduled audit: how many invariants it found violated (0 is clean), by invariant, and
 * the report's lines; for a run that did not complete, its status and why.
 */

import type { AppContext } from "../../app";
import { describeError } from "../../api/errors";
import type { AuditReport } from "../../api/types";
import { temporalWorkflowUrl } from "../../config";
import { formatTime } from "../../format";
import { fill, h, type Child } from "../../ui/dom";
import { poll } from "../../ui/poll";

const POLL_MS = 10_000;

function verdict(audit: AuditReport): HTMLParagraphElement {
  if (audit.violations === null) {
    const why = audit.message ? `: ${audit.message}` : ".";
    return h("p", { class: "verdict violated" }, `The last audit did not complete (${audit.status.toLowerCase()})${why}`);
  }
  if (audit.violations === 0) {
    return h("p", { class: "verdict clean" }, "Clean: 0 violations");
  }
  return h("p", { class: "verdict violated" }, `${audit.violations} violation${audit.violations === 1 ? "" : "s"}`);
}

export function auditPanel(app: AppContext): { element: HTMLElement; dispose(): void } {
  const result = h("div", { class: "audit", attrs: { "data-testid": "audit-result", "aria-live": "polite" } }, "Loading the last audit…");
  let shown = "";

  function render(audit: AuditReport | null): void {
    const signature = JSON.stringify(audit);
    if (signature === shown) {
      return;
    }
    shown = signature;
    if (audit === null) {
      result.removeAttribute("data-violations");
      fill(result, h("p", null, "No audit has run yet."));
      return;
    }
    if (audit.violations === null) {
      result.removeAttribute("data-violations");
    } else {
      result.dataset["violations"] = String(audit.violations);
    }
    const url = temporalWorkflowUrl(app.config, audit.workflow_id);
    const link: Child = url ? [" ", h("a", { attrs: { href: url, target: "_blank", rel: "noopener noreferrer" } }, "See the audit run in the Temporal Web UI")] : null;
    fill(result,
      verdict(audit),
      audit.by_invariant
        ? h("ul", { class: "invariants" },
          Object.entries(audit.by_invariant).map(([name, count]) =>
            h("li", { class: count === 0 ? "" : "violated", attrs: { "data-invariant": name } },
              `${name}: ${count === 0 ? "OK" : `${count} violated`}`)))
        : null,
      audit.summary.length ? h("pre", { class: "summary" }, audit.summary.join("\n")) : null,
      h("p", { class: "hint" }, audit.audited_at ? `Audited ${formatTime(audit.audited_at)}.` : "", link),
    );
  }

  const poller = poll(async () => {
    try {
      render((await app.shop.audit()).audit);
    } catch (error) {
      shown = "";
      fill(result, h("p", { class: "refusal" }, describeError(error)));
      app.alert.show(error);
    }
    return true;
  }, POLL_MS);

  const element = h("section", { class: "panel", attrs: { "aria-labelledby": "audit-heading" } },
    h("h2", { attrs: { id: "audit-heading" } }, "Last audit"),
    result,
  );
  return { element, dispose: () => poller.stop() };
}

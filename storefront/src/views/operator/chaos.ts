/**
 * Chaos toggles: one form per service named in config.faults, to inject 503s, lost replies and
 * latency, or a full outage, through the service's fault endpoint. A 404 from the endpoint means the
 * stack runs without chaos, and then the panel offers no toggles at all.
 */

import type { AppContext } from "../../app";
import { ApiError, describeError } from "../../api/errors";
import type { FaultSettings, FaultState } from "../../api/types";
import { faultsActive, formValuesOf, injectedText, parseFaultForm, type FaultFormValues } from "../../operator/faults";
import { field, h, setFieldError, setText } from "../../ui/dom";
import { poll } from "../../ui/poll";
import { statusRegion } from "../common";

const POLL_MS = 2000;
const CHAOS_OFF = "Chaos is off (start the stack with chaos enabled)";

function settingsText(settings: FaultSettings): string {
  if (!faultsActive(settings)) {
    return "Now: no faults.";
  }
  const [low, high] = settings.latency_ms;
  const latency = high === 0 ? "none" : low === high ? `${low} ms` : `${low}–${high} ms`;
  const errors = settings.error_rate >= 1 ? "full outage" : `503 rate ${settings.error_rate}`;
  return `Now: ${errors}, lost replies ${settings.lost_ack_rate}, latency ${latency}.`;
}

interface FaultForm {
  element: HTMLFormElement;
  show(state: FaultState, options?: { resetInputs?: boolean }): void;
  active: boolean;
}

function faultForm(app: AppContext, service: string, url: string, onChange: () => void): FaultForm {
  const errorRate = h("input", { attrs: { type: "number", min: 0, max: 1, step: 0.05, inputmode: "decimal", name: "error_rate" } });
  const lostReplies = h("input", { attrs: { type: "number", min: 0, max: 1, step: 0.05, inputmode: "decimal", name: "lost_ack_rate" } });
  const latency = h("input", { attrs: { type: "text", name: "latency_ms", inputmode: "numeric", autocomplete: "off", placeholder: "100-500" } });
  const fullOutage = h("input", { attrs: { type: "checkbox", name: "full_outage" }, on: { change: () => (errorRate.disabled = fullOutage.checked) } });
  const errors = { errorRate: h("p", { class: "field-error" }), lostReplies: h("p", { class: "field-error" }), latency: h("p", { class: "field-error" }) };
  const current = h("p", { class: "current" });
  const counters = h("p", { class: "counters" });
  const result = statusRegion();
  const applyButton = h("button", { class: "primary", attrs: { type: "submit", "aria-label": `Apply faults to ${service}` } }, "Apply");
  const clearButton = h("button", { attrs: { type: "button", "aria-label": `Clear faults on ${service}` }, on: { click: () => void clear() } }, "Clear");

  const form: FaultForm = {
    element: h("form", {
      class: "fault-form",
      attrs: { "data-testid": `fault-${service}`, "aria-label": `Faults of ${service}`, novalidate: true },
      on: { submit: (event) => { event.preventDefault(); void apply(); } },
    },
      h("h3", null, service),
      current,
      field("503 rate", errorRate, { hint: "0 to 1: the share of requests refused with 503.", error: errors.errorRate }),
      field("Lost replies", lostReplies, { hint: "0 to 1: the request runs, its answer is dropped.", error: errors.lostReplies }),
      field("Latency (ms)", latency, { hint: "One value, or min-max, like 100-500.", error: errors.latency }),
      field("Full outage", fullOutage, { hint: "Every request is refused with 503." }),
      h("div", { class: "actions" }, applyButton, clearButton),
      counters,
      result,
    ),
    active: false,
    show(state: FaultState, options = {}): void {
      form.active = faultsActive(state.config);
      setText(current, settingsText(state.config));
      setText(counters, injectedText(state.injected));
      if (options.resetInputs) {
        const values = formValuesOf(state.config);
        errorRate.value = values.errorRate;
        lostReplies.value = values.lostReplies;
        latency.value = values.latency;
        fullOutage.checked = values.fullOutage;
        errorRate.disabled = values.fullOutage;
      }
    },
  };

  function setBusy(busy: boolean): void {
    applyButton.disabled = busy;
    clearButton.disabled = busy;
  }

  async function reload(): Promise<void> {
    form.show(await app.shop.faults(url), { resetInputs: true });
    onChange();
  }

  async function apply(): Promise<void> {
    const values: FaultFormValues = {
      errorRate: errorRate.value,
      lostReplies: lostReplies.value,
      latency: latency.value,
      fullOutage: fullOutage.checked,
    };
    const parsed = parseFaultForm(values);
    const fieldErrors = parsed.ok ? {} : parsed.errors;
    setFieldError(errorRate, errors.errorRate, fieldErrors.errorRate);
    setFieldError(lostReplies, errors.lostReplies, fieldErrors.lostReplies);
    setFieldError(latency, errors.latency, fieldErrors.latency);
    if (!parsed.ok) {
      setText(result, "Correct the fields marked above.");
      return;
    }
    setBusy(true);
    try {
      await app.shop.setFaults(url, parsed.body);
      await reload();
      setText(result, `Faults applied to ${service}.`);
    } catch (error) {
      setText(result, describeError(error));
      app.alert.show(error);
    } finally {
      setBusy(false);
    }
  }

  async function clear(): Promise<void> {
    setBusy(true);
    try {
      await app.shop.clearFaults(url);
      await reload();
      setText(result, `Faults cleared on ${service}.`);
    } catch (error) {
      setText(result, describeError(error));
      app.alert.show(error);
    } finally {
      setBusy(false);
    }
  }

  return form;
}

export function chaosPanel(app: AppContext, onActive: (active: boolean) => void): { element: HTMLElement; dispose(): void } {
  const services = Object.entries(app.config.faults);
  const forms = new Map<string, FaultForm>();
  const holder = h("div", { class: "fault-forms" });
  const notes = h("div", { class: "notes" });
  const status = statusRegion();

  const report = (): void => onActive([...forms.values()].some((form) => form.active));

  async function refresh(): Promise<boolean> {
    const answers = await Promise.allSettled(services.map(([, url]) => app.shop.faults(url)));
    const lines: string[] = [];
    let off = 0;
    answers.forEach((answer, index) => {
      const [service, url] = services[index] as [string, string];
      if (answer.status === "fulfilled") {
        let form = forms.get(service);
        const isNew = form === undefined;
        if (!form) {
          form = faultForm(app, service, url, report);
          forms.set(service, form);
          holder.appendChild(form.element);
        }
        form.show(answer.value, { resetInputs: isNew });
      } else if (answer.reason instanceof ApiError && answer.reason.status === 404) {
        off += 1;
      } else {
        lines.push(`${service}: ${describeError(answer.reason)}`);
      }
    });
    if (off > 0 && forms.size === 0) {
      lines.unshift(CHAOS_OFF);
    } else if (off > 0) {
      lines.push(`Chaos is off on ${off} of the services.`);
    }
    notes.replaceChildren(...lines.map((line) => h("p", { class: line.includes(": ") ? "refusal" : "" }, line)));
    setText(status, "");
    report();
    // Keep the counters current while chaos can be switched on; a stack without chaos is asked no more.
    return forms.size > 0;
  }

  setText(status, "Asking the services about chaos…");
  const poller = poll(refresh, POLL_MS);

  const element = h("section", { class: "panel wide", attrs: { "aria-labelledby": "chaos-heading" } },
    h("h2", { attrs: { id: "chaos-heading" } }, "Chaos"),
    status,
    notes,
    holder,
  );
  return { element, dispose: () => poller.stop() };
}

/**
 * The chaos form of one service, read into the body its fault endpoint takes (chassis/faults.py):
 * `{error_rate, lost_ack_rate, latency_ms: [min, max]}`, every field within the bounds the endpoint
 * checks, and back again from the endpoint's answer. "Full outage" is an error rate of 1. The faults
 * hit the saga's calls only (SAGA_PATHS): the console's own reads and the customers' pages go on
 * answering, so the effect on the orders stays in view.
 */

import type { FaultSettings } from "../api/types";

export const MAX_LATENCY_MS = 60_000;

export interface FaultFormValues {
  errorRate: string;
  lostReplies: string;
  latency: string;
  fullOutage: boolean;
}

/** The service's paths the saga calls, and no others. */
export const SAGA_PATHS: readonly string[] = ["/internal/v1/"];

export type FaultBody = FaultSettings;

export type FaultFormResult =
  | { ok: true; body: FaultBody }
  | { ok: false; errors: Partial<Record<keyof FaultFormValues, string>> };

function parseRate(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "") {
    return 0;
  }
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(trimmed)) {
    return null;
  }
  const value = Number(trimmed);
  return value >= 0 && value <= 1 ? value : null;
}

/** "" is no latency; "200" is always 200 ms; "100-500" (or "100–500") is between 100 and 500 ms. */
export function parseLatency(text: string): [number, number] | null {
  const trimmed = text.trim();
  if (trimmed === "") {
    return [0, 0];
  }
  const match = /^(\d+)(?:\s*[-–]\s*(\d+))?$/.exec(trimmed);
  if (!match) {
    return null;
  }
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  if (low > high || high > MAX_LATENCY_MS) {
    return null;
  }
  return [low, high];
}

export function parseFaultForm(values: FaultFormValues): FaultFormResult {
  const errors: Partial<Record<keyof FaultFormValues, string>> = {};
  const errorRate = values.fullOutage ? 1 : parseRate(values.errorRate);
  const lostReplies = parseRate(values.lostReplies);
  const latency = parseLatency(values.latency);
  if (errorRate === null) {
    errors.errorRate = "The 503 rate is a number from 0 to 1, like 0.2.";
  }
  if (lostReplies === null) {
    errors.lostReplies = "Lost replies is a number from 0 to 1, like 0.1.";
  }
  if (latency === null) {
    errors.latency = `Latency is milliseconds, one value or min–max, up to ${MAX_LATENCY_MS}, like 100-500.`;
  }
  if (errorRate === null || lostReplies === null || latency === null) {
    return { ok: false, errors };
  }
  return { ok: true, body: { error_rate: errorRate, lost_ack_rate: lostReplies, latency_ms: latency, paths: [...SAGA_PATHS] },
  };
}

/** The form's values for the settings a service answered with. */
export function formValuesOf(settings: FaultSettings): FaultFormValues {
  const [low, high] = settings.latency_ms;
  return {
    errorRate: settings.error_rate >= 1 ? "" : String(settings.error_rate),
    lostReplies: String(settings.lost_ack_rate),
    latency: high === 0 ? "" : low === high ? String(low) : `${low}-${high}`,
    fullOutage: settings.error_rate >= 1,
  };
}

/** True when the settings inject anything at all. */
export function faultsActive(settings: FaultSettings): boolean {
  return settings.error_rate > 0 || settings.lost_ack_rate > 0 || settings.latency_ms[1] > 0;
}

const KIND_WORDS: Record<string, [string, string]> = {
  error: ["503 answer", "503 answers"],
  lost_ack: ["lost reply", "lost replies"],
  latency: ["delayed request", "delayed requests"],
};

/** The counters of a fault endpoint in words: "Injected so far: 3 503 answers, 1 lost reply, 0 delayed requests." */
export function injectedText(injected: Record<string, number>): string {
  const parts = Object.entries(KIND_WORDS).map(([kind, [one, many]]) => {
    const count = injected[kind] ?? 0;
    return `${count} ${count === 1 ? one : many}`;
  });
  return `Injected so far: ${parts.join(", ")}.`;
}

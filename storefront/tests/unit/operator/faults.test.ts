import { describe, expect, it } from "vitest";
import { faultsActive, formValuesOf, injectedText, parseFaultForm, parseLatency } from "../../../src/operator/faults";

const blank = { errorRate: "", lostReplies: "", latency: "", fullOutage: false };

describe("parseLatency", () => {
  it("reads one value, a range, or nothing", () => {
    expect(parseLatency("")).toEqual([0, 0]);
    expect(parseLatency("250")).toEqual([250, 250]);
    expect(parseLatency("100-500")).toEqual([100, 500]);
    expect(parseLatency(" 100 – 500 ")).toEqual([100, 500]);
  });

  it("refuses a reversed range, negative or fractional values, and more than a minute", () => {
    expect(parseLatency("500-100")).toBeNull();
    expect(parseLatency("-5")).toBeNull();
    expect(parseLatency("1.5")).toBeNull();
    expect(parseLatency("0-60001")).toBeNull();
    expect(parseLatency("fast")).toBeNull();
  });
});

describe("parseFaultForm", () => {
  it("builds the body the fault endpoint takes", () => {
    expect(parseFaultForm({ errorRate: "0.2", lostReplies: "0.1", latency: "100-300", fullOutage: false })).toEqual({
      ok: true,
      body: { error_rate: 0.2, lost_ack_rate: 0.1, latency_ms: [100, 300], paths: ["/internal/v1/"] },
    });
    expect(parseFaultForm(blank)).toEqual({ ok: true, body: { error_rate: 0, lost_ack_rate: 0, latency_ms: [0, 0], paths: ["/internal/v1/"] } });
  });

  it("makes a full outage an error rate of 1, whatever the rate field says", () => {
    const result = parseFaultForm({ ...blank, errorRate: "not a number", fullOutage: true });
    expect(result.ok && result.body.error_rate).toBe(1);
  });

  it("refuses rates outside 0..1 and names each wrong field", () => {
    const result = parseFaultForm({ errorRate: "1.5", lostReplies: "-0.1", latency: "9-1", fullOutage: false });
    expect(result.ok).toBe(false);
    expect(!result.ok && Object.keys(result.errors).sort()).toEqual(["errorRate", "latency", "lostReplies"]);
  });
});

describe("the service's answer", () => {
  it("fills the form back from the settings", () => {
    expect(formValuesOf({ error_rate: 0.3, lost_ack_rate: 0, latency_ms: [50, 200], paths: null })).toEqual({
      errorRate: "0.3",
      lostReplies: "0",
      latency: "50-200",
      fullOutage: false,
    });
    expect(formValuesOf({ error_rate: 1, lost_ack_rate: 0, latency_ms: [0, 0], paths: null })).toMatchObject({ fullOutage: true, latency: "" });
  });

  it("tells whether anything is injected", () => {
    expect(faultsActive({ error_rate: 0, lost_ack_rate: 0, latency_ms: [0, 0], paths: null })).toBe(false);
    expect(faultsActive({ error_rate: 0, lost_ack_rate: 0, latency_ms: [0, 10], paths: null })).toBe(true);
    expect(faultsActive({ error_rate: 0, lost_ack_rate: 0.5, latency_ms: [0, 0], paths: null })).toBe(true);
  });

  it("puts the counters in words", () => {
    expect(injectedText({ error: 3, lost_ack: 1, latency: 0 })).toBe("Injected so far: 3 503 answers, 1 lost reply, 0 delayed requests.");
  });
});

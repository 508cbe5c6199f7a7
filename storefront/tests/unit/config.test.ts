import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig, temporalWorkflowUrl } from "../../src/config";

const RAW = {
  identity: "http://127.0.0.1:8005/",
  orders: "http://127.0.0.1:8001",
  inventory: "",
  payments: "",
  notifications: "",
  faults: { order_svc: "/api/v1/faults/orders" },
  client_id: "storefront",
  temporal_ui: "http://127.0.0.1:8233/",
  namespace: "default",
};

describe("parseConfig", () => {
  it("keeps each base as an origin without a trailing slash", () => {
    const config = parseConfig(RAW);
    expect(config.identity).toBe("http://127.0.0.1:8005");
    expect(config.orders).toBe("http://127.0.0.1:8001");
    expect(config.inventory).toBe("");
    expect(config.faults).toEqual({ order_svc: "/api/v1/faults/orders" });
  });

  it("refuses a config without a client id or with a broken fault map", () => {
    expect(() => parseConfig({ ...RAW, client_id: "" })).toThrow(ConfigError);
    expect(() => parseConfig({ ...RAW, faults: { order_svc: 3 } })).toThrow(ConfigError);
    expect(() => parseConfig([])).toThrow(ConfigError);
  });

  it("is fetched without any cache", async () => {
    let seen: RequestInit | undefined;
    const config = await loadConfig(async (_input, init) => {
      seen = init;
      return new Response(JSON.stringify(RAW));
    });
    expect(seen?.cache).toBe("no-store");
    expect(config.client_id).toBe("storefront");
  });
});

describe("temporalWorkflowUrl", () => {
  it("links the workflow in its namespace, its id encoded", () => {
    const config = parseConfig(RAW);
    expect(temporalWorkflowUrl(config, "order-1/2")).toBe("http://127.0.0.1:8233/namespaces/default/workflows/order-1%2F2");
    expect(temporalWorkflowUrl({ ...config, temporal_ui: "" }, "order-1")).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { orderHash, parseRoute } from "../../../src/ui/router";

describe("parseRoute", () => {
  it("knows the page's hash routes", () => {
    expect(parseRoute("")).toEqual({ name: "shop" });
    expect(parseRoute("#/")).toEqual({ name: "shop" });
    expect(parseRoute("#/orders")).toEqual({ name: "orders" });
    expect(parseRoute("#/orders/")).toEqual({ name: "orders" });
    expect(parseRoute("#/account")).toEqual({ name: "account" });
    expect(parseRoute("#/operator")).toEqual({ name: "operator" });
  });

  it("reads an order's id, and round-trips it", () => {
    const id = "5b3f1c2e-8a4d-4e6f-9b1a-2c3d4e5f6a7b";
    expect(parseRoute(orderHash(id))).toEqual({ name: "order", id });
  });

  it("calls anything else not found", () => {
    expect(parseRoute("#/orders/1/2").name).toBe("not-found");
    expect(parseRoute("#/admin").name).toBe("not-found");
    expect(parseRoute("#/orders/%E0%A4%A").name).toBe("not-found");
  });
});

import { describe, expect, it, vi } from "vitest";
import type { Product } from "../../../src/api/types";
import { Cart, MAX_QUANTITY } from "../../../src/orders/cart";

const beans: Product = { sku: "BEANS-1KG", name: "Coffee beans", price_cents: 2490, currency: "USD", availability: "in_stock" };
const mug: Product = { sku: "MUG-CERAMIC", name: "Mug", price_cents: 1200, currency: "USD", availability: "low_stock" };

describe("Cart", () => {
  it("adds up lines and quantities into the order's body", () => {
    const cart = new Cart();
    cart.add(beans);
    cart.add(beans);
    cart.add(mug);
    expect(cart.totalCents).toBe(2 * 2490 + 1200);
    expect(cart.orderBody()).toEqual({ items: [{ sku: "BEANS-1KG", quantity: 2 }, { sku: "MUG-CERAMIC", quantity: 1 }] });
    expect(cart.orderBody("alice")).toMatchObject({ customer_id: "alice" });
  });

  it("keeps quantities whole and within bounds, and drops a line set to zero", () => {
    const cart = new Cart();
    cart.add(beans);
    cart.setQuantity("BEANS-1KG", 2.7);
    expect(cart.items[0]?.quantity).toBe(2);
    cart.setQuantity("BEANS-1KG", 5000);
    expect(cart.items[0]?.quantity).toBe(MAX_QUANTITY);
    cart.setQuantity("BEANS-1KG", Number.NaN);
    expect(cart.items[0]?.quantity).toBe(MAX_QUANTITY);
    cart.setQuantity("BEANS-1KG", 0);
    expect(cart.isEmpty).toBe(true);
  });

  it("tells its listeners of each change", () => {
    const cart = new Cart();
    const listener = vi.fn();
    cart.onChange(listener);
    cart.add(mug);
    cart.remove("MUG-CERAMIC");
    cart.remove("MUG-CERAMIC");
    cart.clear();
    expect(listener).toHaveBeenCalledTimes(2);
  });
});

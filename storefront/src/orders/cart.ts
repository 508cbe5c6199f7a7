/** The cart, kept in memory for this tab: lines of products and quantities, and what to send for them. */

import type { PlaceOrderBody, Product } from "../api/types";

export interface CartLine {
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  quantity: number;
}

export const MAX_QUANTITY = 999;

export class Cart {
  private readonly lines = new Map<string, CartLine>();
  private readonly listeners = new Set<() => void>();

  get items(): readonly CartLine[] {
    return [...this.lines.values()];
  }

  get isEmpty(): boolean {
    return this.lines.size === 0;
  }

  get totalCents(): number {
    let total = 0;
    for (const line of this.lines.values()) {
      total += line.priceCents * line.quantity;
    }
    return total;
  }

  /** The currency of the lines; a cart mixing currencies is not priced in one. */
  get currency(): string | null {
    const currencies = new Set(this.items.map((line) => line.currency));
    return currencies.size === 1 ? ([...currencies][0] ?? null) : null;
  }

  add(product: Product): void {
    const line = this.lines.get(product.sku);
    if (line) {
      line.quantity = Math.min(line.quantity + 1, MAX_QUANTITY);
    } else {
      this.lines.set(product.sku, {
        sku: product.sku,
        name: product.name,
        priceCents: product.price_cents,
        currency: product.currency,
        quantity: 1,
      });
    }
    this.changed();
  }

  /** Set a line's quantity, kept within 1..MAX_QUANTITY; 0 or less removes the line. */
  setQuantity(sku: string, quantity: number): void {
    const line = this.lines.get(sku);
    if (!line || !Number.isFinite(quantity)) {
      return;
    }
    if (quantity < 1) {
      this.lines.delete(sku);
    } else {
      line.quantity = Math.min(Math.floor(quantity), MAX_QUANTITY);
    }
    this.changed();
  }

  remove(sku: string): void {
    if (this.lines.delete(sku)) {
      this.changed();
    }
  }

  clear(): void {
    if (this.lines.size) {
      this.lines.clear();
      this.changed();
    }
  }

  /** The body of `POST /api/v1/orders` for this cart, for the customer it names (operators only). */
  orderBody(customerId?: string): PlaceOrderBody {
    const body: PlaceOrderBody = { items: this.items.map(({ sku, quantity }) => ({ sku, quantity })) };
    if (customerId) {
      body.customer_id = customerId;
    }
    return body;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) {
      listener();
    }
  }
}

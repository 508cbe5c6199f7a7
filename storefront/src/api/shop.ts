/** Every call the page makes to the shop's services, typed, through the one ApiClient. */

import type { StorefrontConfig } from "../config";
import type { ApiClient } from "./client";
import type {
  Account,
  AuditReport,
  Breakers,
  FaultSettings,
  FaultState,
  Notification,
  Order,
  OrderFilter,
  Page,
  PlaceOrderBody,
  Product,
  Saga,
} from "./types";

/** Enough for the demo catalog and accounts in one page; the services allow up to 500. */
const LARGE_PAGE = 200;

export class ShopApi {
  constructor(
    private readonly config: StorefrontConfig,
    private readonly api: ApiClient,
  ) {}

  catalog(): Promise<Page<Product>> {
    return this.api.get(`${this.config.inventory}/api/v1/catalog?page_size=${LARGE_PAGE}`, { anonymous: true });
  }

  placeOrder(body: PlaceOrderBody, idempotencyKey: string): Promise<Order> {
    return this.api.post(`${this.config.orders}/api/v1/orders`, body, { idempotencyKey });
  }

  orders(filter: OrderFilter = {}): Promise<Page<Order>> {
    const query = new URLSearchParams();
    if (filter.status) {
      query.set("status", filter.status);
    }
    if (filter.customer_id) {
      query.set("customer_id", filter.customer_id);
    }
    if (filter.page && filter.page > 1) {
      query.set("page", String(filter.page));
    }
    const search = query.toString();
    return this.api.get(`${this.config.orders}/api/v1/orders${search ? `?${search}` : ""}`);
  }

  order(orderId: string): Promise<Order> {
    return this.api.get(`${this.config.orders}/api/v1/orders/${encodeURIComponent(orderId)}`);
  }

  saga(orderId: string): Promise<Saga> {
    return this.api.get(`${this.config.orders}/api/v1/orders/${encodeURIComponent(orderId)}/saga`);
  }

  cancelOrder(orderId: string, idempotencyKey: string): Promise<Order> {
    return this.api.post(`${this.config.orders}/api/v1/orders/${encodeURIComponent(orderId)}/cancel`, {}, { idempotencyKey });
  }

  account(customerId: string): Promise<Account> {
    return this.api.get(`${this.config.payments}/api/v1/accounts/${encodeURIComponent(customerId)}`);
  }

  accounts(): Promise<Page<Account>> {
    return this.api.get(`${this.config.payments}/api/v1/accounts?page_size=${LARGE_PAGE}`);
  }

  notifications(): Promise<Page<Notification>> {
    return this.api.get(`${this.config.notifications}/api/v1/notifications`);
  }

  breakers(): Promise<Breakers> {
    return this.api.get(`${this.config.orders}/api/v1/operations/breakers`);
  }

  audit(): Promise<{ audit: AuditReport | null }> {
    return this.api.get(`${this.config.orders}/api/v1/operations/audit`);
  }

  faults(url: string): Promise<FaultState> {
    return this.api.get(url);
  }

  setFaults(url: string, settings: Omit<FaultSettings, "paths">): Promise<FaultSettings> {
    return this.api.put(url, settings);
  }

  clearFaults(url: string): Promise<void> {
    return this.api.delete(url);
  }
}

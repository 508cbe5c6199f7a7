/** The shapes the services answer with, as this page reads them (see each service's apis.py). */

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export type Availability = "in_stock" | "low_stock" | "out_of_stock";

export interface Product {
  sku: string;
  name: string;
  price_cents: number;
  currency: string;
  availability: Availability;
}

export type OrderStatus = "PENDING" | "CONFIRMED" | "CANCELLED";

export interface OrderItem {
  sku: string;
  quantity: number;
  unit_price_cents: number | null;
}

export interface Order {
  id: string;
  customer_id: string;
  status: OrderStatus;
  cancellation_reason: string | null;
  items: OrderItem[];
  total_cents: number | null;
  currency: string;
  workflow_id: string;
  created_at: string;
  updated_at: string;
}

export interface PlaceOrderBody {
  items: { sku: string; quantity: number }[];
  customer_id?: string;
}

export type StepState = "pending" | "running" | "done" | "failed" | "compensated" | "skipped";

export interface SagaStep {
  name: string;
  state: StepState | string;
  attempts: number;
  last_error: string | null;
  started_at: string | null;
  finished_at: string | null;
  compensated_at: string | null;
}

export interface Saga {
  order_id: string;
  workflow_id: string;
  /** The workflow's status: RUNNING, COMPLETED, FAILED, TERMINATED, ..., or NOT_STARTED. */
  status: string;
  steps: SagaStep[];
}

export interface Account {
  customer_id: string;
  balance_cents: number;
  held_cents: number;
  deposited_cents: number;
  currency: string;
}

export interface Notification {
  id: string;
  order_id: string;
  type: string;
  subject: string;
  status: string;
  created_at: string;
  sent_at: string | null;
}

export type BreakerState = "closed" | "open" | "unknown" | string;

export interface Breakers {
  breakers: { service: string; state: BreakerState }[];
  read_at: string;
}

/** The last closed run of the scheduled audit; `violations` is null for a run that did not complete. */
export interface AuditReport {
  workflow_id: string;
  status: string;
  audited_at: string | null;
  violations: number | null;
  by_invariant: Record<string, number> | null;
  /** The report's lines, one per invariant. */
  summary: string[];
  /** Why a run did not complete. */
  message: string | null;
}

export interface FaultSettings {
  error_rate: number;
  latency_ms: [number, number];
  lost_ack_rate: number;
  paths: string[] | null;
}

export interface FaultState {
  config: FaultSettings;
  injected: Record<string, number>;
}

export interface OrderFilter {
  status?: OrderStatus | "";
  customer_id?: string;
  page?: number;
}

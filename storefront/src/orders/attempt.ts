/**
 * One Idempotency-Key per attempt. The key is made when the person presses the button and is sent
 * with every retry of that attempt, automatic or pressed again after a failure that may still come
 * right (no answer, 503, 429), so the server applies the request at most once. A press while the
 * attempt is in flight sends nothing more. A new key is made only when what is sent changes or the
 * attempt has ended (the server accepted it or gave a final refusal).
 */

import { isRetriable, withRetries, type RetryOptions } from "../api/retry";
import { uuid4 } from "../random";

export class IdempotentAttempt<Payload, Result> {
  private open: { signature: string; key: string } | null = null;
  private inFlight: Promise<Result> | null = null;
  private readonly send: (payload: Payload, idempotencyKey: string) => Promise<Result>;
  private readonly newKey: () => string;
  private readonly retry: RetryOptions;

  constructor(deps: {
    send: (payload: Payload, idempotencyKey: string) => Promise<Result>;
    newKey?: () => string;
    retry?: RetryOptions;
  }) {
    this.send = deps.send;
    this.newKey = deps.newKey ?? (() => uuid4());
    this.retry = deps.retry ?? {};
  }

  get busy(): boolean {
    return this.inFlight !== null;
  }

  /** The key of the attempt that is still open, if any (for display and tests). */
  get currentKey(): string | null {
    return this.open?.key ?? null;
  }

  /**
   * Send `payload` under the open attempt's key, or under a new key when `signature` (what is being
   * sent, JSON by default) differs from the open attempt's. `onRetry` is told of each automatic retry.
   */
  run(payload: Payload, options: { signature?: string; onRetry?: RetryOptions["onRetry"] } = {}): Promise<Result> {
    if (this.inFlight) {
      return this.inFlight;
    }
    const signature = options.signature ?? JSON.stringify(payload);
    if (this.open === null || this.open.signature !== signature) {
      this.open = { signature, key: this.newKey() };
    }
    const attempt = this.open;
    const retry: RetryOptions = { ...this.retry };
    const onRetry = options.onRetry ?? this.retry.onRetry;
    if (onRetry) {
      retry.onRetry = onRetry;
    }
    this.inFlight = withRetries(() => this.send(payload, attempt.key), retry)
      .then(
        (result) => {
          this.end(attempt);
          return result;
        },
        (error: unknown) => {
          if (!isRetriable(error)) {
            this.end(attempt);
          }
          throw error;
        },
      )
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private end(attempt: { signature: string; key: string }): void {
    if (this.open === attempt) {
      this.open = null;
    }
  }
}

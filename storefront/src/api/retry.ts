/**
 * Which failed calls may be sent again, and when. A retry sends the same request with the same
 * Idempotency-Key, so an order is placed once however often its reply is lost. Retried: no answer
 * at all, a gateway or service that is briefly unavailable (502, 503, 504), a throttle (429, after
 * its Retry-After), and a key still held by the first request (409 idempotency_in_flight). Anything
 * else is the server's answer and is final.
 */

import { ApiError, IDEMPOTENCY_IN_FLIGHT } from "./errors";

export interface RetryPolicy {
  /** Retries after the first send. */
  maxRetries: number;
  /** The first backoff; each retry doubles it. */
  baseDelayMs: number;
  /** A throttle that asks for a longer wait than this is not waited out automatically. */
  maxWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 3, baseDelayMs: 500, maxWaitMs: 30_000 };

/** True when sending the same request again may still succeed. */
export function isRetriable(error: unknown): boolean {
  if (!(error instanceof ApiError)) {
    return false;
  }
  if (error.kind === "network") {
    return true;
  }
  if (error.kind !== "http" || error.status === null) {
    return false;
  }
  return (
    [429, 502, 503, 504].includes(error.status) ||
    (error.status === 409 && error.code === IDEMPOTENCY_IN_FLIGHT)
  );
}

/** How long to wait before retry number `retryIndex` (0 for the first), or null for no retry. */
export function retryDelayMs(error: unknown, retryIndex: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number | null {
  if (retryIndex >= policy.maxRetries || !isRetriable(error)) {
    return null;
  }
  const backoff = policy.baseDelayMs * 2 ** retryIndex;
  if (error instanceof ApiError && error.status === 429 && error.retryAfterSeconds !== null) {
    const wait = error.retryAfterSeconds * 1000;
    return wait <= policy.maxWaitMs ? Math.max(wait, backoff) : null;
  }
  return backoff;
}

export interface RetryOptions {
  policy?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  /** Told before each wait, so the page can say that it is retrying. */
  onRetry?: (delayMs: number, error: unknown) => void;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Run `send`, and run it again after retriable failures, within the policy; throw the last failure. */
export async function withRetries<T>(send: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const wait = options.sleep ?? sleep;
  for (let retryIndex = 0; ; retryIndex += 1) {
    try {
      return await send();
    } catch (error) {
      const delay = retryDelayMs(error, retryIndex, policy);
      if (delay === null) {
        throw error;
      }
      options.onRetry?.(delay, error);
      await wait(delay);
    }
  }
}

/**
 * What went wrong with a call, in words a customer can read. Every service refuses with one shape,
 * `{"code", "message", "details"}`, and the page shows its `message`; identity_svc's token endpoint
 * also answers in the OAuth shape, `{"error", "error_description"}`. A status code is never shown.
 */

export type ApiErrorKind = "network" | "http" | "signed_out";

const NETWORK_MESSAGE = "The shop could not reach the server. Check your connection and try again.";
const SIGNED_OUT_MESSAGE = "You are not signed in, or your session has ended. Please sign in.";

export const CANCEL_REFUSED = "order_not_cancellable";
export const IDEMPOTENCY_IN_FLIGHT = "idempotency_in_flight";

const CANCEL_REFUSAL_REASONS: Record<string, string> = {
  pivot_passed: "Payment has already been captured: the order will complete.",
  final: "The order is already final: there is nothing left to cancel.",
  already_cancelling: "The order is already being cancelled.",
};

const OAUTH_ERRORS: Record<string, string> = {
  invalid_grant: "The sign-in is no longer valid. Please sign in again.",
  invalid_client: "The shop is not registered with the sign-in service.",
  unauthorized_client: "The shop may not sign in this way.",
};

export class ApiError extends Error {
  readonly kind: ApiErrorKind;
  /** The HTTP status, for decisions in code only; it never reaches the screen. */
  readonly status: number | null;
  readonly code: string | null;
  readonly details: Record<string, unknown>;
  readonly retryAfterSeconds: number | null;

  constructor(init: {
    kind: ApiErrorKind;
    message: string;
    status?: number | null;
    code?: string | null;
    details?: Record<string, unknown>;
    retryAfterSeconds?: number | null;
  }) {
    super(init.message);
    this.name = "ApiError";
    this.kind = init.kind;
    this.status = init.status ?? null;
    this.code = init.code ?? null;
    this.details = init.details ?? {};
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
  }

  static network(): ApiError {
    return new ApiError({ kind: "network", message: NETWORK_MESSAGE });
  }

  static signedOut(): ApiError {
    return new ApiError({ kind: "signed_out", message: SIGNED_OUT_MESSAGE });
  }

  /** Build the error of a refused answer from its status, its body text and its Retry-After header. */
  static fromResponse(status: number, bodyText: string, retryAfterHeader: string | null = null): ApiError {
    const body = parseObject(bodyText);
    const details = isRecord(body?.["details"]) ? body["details"] : {};
    const retryAfter = retryAfterSeconds(details, retryAfterHeader);
    if (body && typeof body["code"] === "string" && typeof body["message"] === "string") {
      return new ApiError({
        kind: "http",
        status,
        code: body["code"],
        message: body["message"],
        details,
        retryAfterSeconds: retryAfter,
      });
    }
    if (body && typeof body["error"] === "string") {
      const description = typeof body["error_description"] === "string" ? body["error_description"] : "";
      return new ApiError({
        kind: "http",
        status,
        code: body["error"],
        message: OAUTH_ERRORS[body["error"]] ?? (description || "The sign-in service refused the request."),
        retryAfterSeconds: retryAfter,
      });
    }
    return new ApiError({ kind: "http", status, message: wordsForStatus(status), retryAfterSeconds: retryAfter });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : null;
  } catch {
    return null;
  }
}

function retryAfterSeconds(details: Record<string, unknown>, header: string | null): number | null {
  const fromBody = details["retry_after_seconds"];
  if (typeof fromBody === "number" && Number.isFinite(fromBody) && fromBody >= 0) {
    return fromBody;
  }
  if (header !== null && /^\d+$/.test(header.trim())) {
    return Number(header.trim());
  }
  return null;
}

/** Words for an answer that did not come in any known shape (a proxy's page, an empty body). */
function wordsForStatus(status: number): string {
  if (status === 401) {
    return SIGNED_OUT_MESSAGE;
  }
  if (status === 403) {
    return "You may not do this.";
  }
  if (status === 404) {
    return "This could not be found.";
  }
  if (status === 429) {
    return "Too many requests right now. Please wait a moment and try again.";
  }
  if (status >= 500) {
    return "The server is not available right now. Please try again shortly.";
  }
  return "The server refused the request.";
}

/** The reason a cancel was refused, in words, or null for another error. */
export function cancelRefusalText(error: unknown): string | null {
  if (!(error instanceof ApiError) || error.code !== CANCEL_REFUSED) {
    return null;
  }
  const reason = error.details["reason"];
  return typeof reason === "string" ? (CANCEL_REFUSAL_REASONS[reason] ?? null) : null;
}

/** Field errors of a validation refusal as short sentences, like `items: This field is required.` */
export function fieldErrors(details: Record<string, unknown>, limit = 3): string[] {
  const lines: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (lines.length >= limit) {
      return;
    }
    if (typeof value === "string") {
      lines.push(path ? `${path}: ${value}` : value);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, typeof item === "string" ? path : `${path}[${index + 1}]`));
    } else if (isRecord(value)) {
      for (const [key, item] of Object.entries(value)) {
        walk(item, key === "non_field_errors" ? path : path ? `${path}.${key}` : key);
      }
    }
  };
  walk(details, "");
  return lines.slice(0, limit);
}

/** One sentence (or two) for anything a call or the page threw. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) {
    return "Something went wrong in the page. Please reload it and try again.";
  }
  if (error.kind !== "http") {
    return error.message;
  }
  const reason = cancelRefusalText(error);
  if (reason) {
    return `${error.message} ${reason}`;
  }
  if (error.code === "validation_error") {
    const fields = fieldErrors(error.details);
    return fields.length ? `${error.message} ${fields.join(" ")}` : error.message;
  }
  return error.message;
}

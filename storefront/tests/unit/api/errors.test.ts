import { describe, expect, it } from "vitest";
import { ApiError, cancelRefusalText, describeError, fieldErrors } from "../../../src/api/errors";

const shape = (code: string, message: string, details: Record<string, unknown> = {}) =>
  JSON.stringify({ code, message, details });

describe("ApiError.fromResponse", () => {
  it("reads the services' error shape", () => {
    const error = ApiError.fromResponse(409, shape("order_not_cancellable", "The order can no longer be cancelled.", { reason: "final" }));
    expect(error).toMatchObject({ kind: "http", status: 409, code: "order_not_cancellable", details: { reason: "final" } });
    expect(error.message).toBe("The order can no longer be cancelled.");
  });

  it("reads the wait of a throttle from the body, or else from Retry-After", () => {
    const body = shape("throttled", "Too many requests; retry in 7 s.", { retry_after_seconds: 7 });
    expect(ApiError.fromResponse(429, body, "60").retryAfterSeconds).toBe(7);
    expect(ApiError.fromResponse(429, "", "3").retryAfterSeconds).toBe(3);
    expect(ApiError.fromResponse(429, "", "Wed, 21 Oct 2015 07:28:00 GMT").retryAfterSeconds).toBeNull();
  });

  it("reads the OAuth error shape of the token endpoint", () => {
    expect(ApiError.fromResponse(400, JSON.stringify({ error: "invalid_grant" })).message).toBe(
      "The sign-in is no longer valid. Please sign in again.",
    );
    expect(ApiError.fromResponse(400, JSON.stringify({ error: "odd", error_description: "Odd request." })).message).toBe("Odd request.");
  });

  it("puts an answer of no known shape in words, never as a status code", () => {
    const gateway = ApiError.fromResponse(502, "<html><body>502 Bad Gateway</body></html>");
    expect(gateway.message).toBe("The server is not available right now. Please try again shortly.");
    for (const status of [400, 401, 403, 404, 418, 429, 500, 503]) {
      expect(describeError(ApiError.fromResponse(status, ""))).not.toMatch(/\d{3}/);
    }
  });
});

describe("describeError", () => {
  it("says that the shop could not reach the server when there was no answer", () => {
    expect(describeError(ApiError.network())).toBe("The shop could not reach the server. Check your connection and try again.");
  });

  it("shows the service's message", () => {
    expect(describeError(ApiError.fromResponse(404, shape("order_not_found", "No order has this id.")))).toBe("No order has this id.");
  });

  it("adds the reason of a refused cancel in words", () => {
    const pivot = ApiError.fromResponse(409, shape("order_not_cancellable", "The order can no longer be cancelled.", { reason: "pivot_passed" }));
    expect(describeError(pivot)).toBe("The order can no longer be cancelled. Payment has already been captured: the order will complete.");
    expect(cancelRefusalText(pivot)).toBe("Payment has already been captured: the order will complete.");
    const cancelling = ApiError.fromResponse(409, shape("order_not_cancellable", "No.", { reason: "already_cancelling" }));
    expect(cancelRefusalText(cancelling)).toBe("The order is already being cancelled.");
    expect(cancelRefusalText(ApiError.fromResponse(409, shape("conflict", "No.", { reason: "final" })))).toBeNull();
  });

  it("adds the fields of a validation refusal", () => {
    const error = ApiError.fromResponse(400, shape("validation_error", "The request body is not valid.", {
      items: [{ quantity: ["Ensure this value is greater than or equal to 1."] }],
      non_field_errors: ["Duplicate SKU."],
    }));
    expect(describeError(error)).toBe(
      "The request body is not valid. items[1].quantity: Ensure this value is greater than or equal to 1. Duplicate SKU.",
    );
  });

  it("does not show what the page itself threw", () => {
    expect(describeError(new TypeError("x is undefined"))).toBe("Something went wrong in the page. Please reload it and try again.");
  });
});

describe("fieldErrors", () => {
  it("stops at the limit", () => {
    expect(fieldErrors({ a: ["1"], b: ["2"], c: ["3"], d: ["4"] }, 2)).toEqual(["a: 1", "b: 2"]);
  });
});

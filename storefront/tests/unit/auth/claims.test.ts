import { describe, expect, it } from "vitest";
import { identityFromToken } from "../../../src/auth/claims";

function token(payload: unknown): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", typ: "at+jwt" })}.${part(payload)}.signature`;
}

describe("identityFromToken", () => {
  it("reads the subject and the roles of a customer and of an operator", () => {
    expect(identityFromToken(token({ sub: "c-0123456789abcdef0123", roles: [] }))).toEqual({
      subject: "c-0123456789abcdef0123",
      roles: [],
      isOperator: false,
    });
    expect(identityFromToken(token({ sub: "ops", roles: ["operator"] }))?.isOperator).toBe(true);
  });

  it("decodes UTF-8 payloads, and takes roles only from a list", () => {
    expect(identityFromToken(token({ sub: "zoë~?>", roles: "operator" }))).toEqual({ subject: "zoë~?>", roles: [], isOperator: false });
  });

  it("gives no identity for what is not a JWT with a subject", () => {
    expect(identityFromToken("opaque-token")).toBeNull();
    expect(identityFromToken(token({ roles: ["operator"] }))).toBeNull();
    expect(identityFromToken("a.%%%.c")).toBeNull();
  });
});

/**
 * Who is signed in, read from the access token's payload. The token is decoded, not verified: the page
 * only uses it to choose what to show, and every API verifies the token itself before it answers.
 */

import { base64UrlDecode } from "../random";

export interface Identity {
  /** The token's subject: for a customer, the customer id (`c-…` or `alice`). */
  subject: string;
  roles: readonly string[];
  isOperator: boolean;
}

export const OPERATOR_ROLE = "operator";

/** The identity an access token names, or null when the token is not a JWT with a subject. */
export function identityFromToken(token: string): Identity | null {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) {
    return null;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(base64UrlDecode(parts[1])));
  } catch {
    return null;
  }
  if (typeof payload !== "object" || payload === null) {
    return null;
  }
  const { sub, roles } = payload as { sub?: unknown; roles?: unknown };
  if (typeof sub !== "string" || sub === "") {
    return null;
  }
  const roleList = Array.isArray(roles) ? roles.filter((role): role is string => typeof role === "string") : [];
  return { subject: sub, roles: roleList, isOperator: roleList.includes(OPERATOR_ROLE) };
}

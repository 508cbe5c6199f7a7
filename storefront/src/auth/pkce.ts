/**
 * PKCE (RFC 7636) for the authorization code flow: a random code verifier, its S256 challenge, and the
 * random `state` that ties an answer to the request that asked for it. Only S256 is made; identity_svc
 * accepts nothing else.
 */

import { base64UrlEncode, randomBytes } from "../random";

/** 32 random bytes make a 43-character verifier, the shortest RFC 7636 allows, with 256 bits of entropy. */
const VERIFIER_BYTES = 32;
const STATE_BYTES = 16;

export interface PkcePair {
  verifier: string;
  challenge: string;
}

export class InsecurePageError extends Error {
  constructor() {
    super("Signing in needs a secure page: open the shop over https, or at localhost or 127.0.0.1.");
  }
}

export function createCodeVerifier(bytes: Uint8Array = randomBytes(VERIFIER_BYTES)): string {
  const verifier = base64UrlEncode(bytes);
  if (verifier.length < 43 || verifier.length > 128) {
    throw new Error("A code verifier has 43 to 128 characters.");
  }
  return verifier;
}

/** BASE64URL(SHA-256(ASCII(verifier))). The Web Crypto digest exists only on secure pages. */
export async function codeChallengeS256(verifier: string): Promise<string> {
  if (!globalThis.crypto?.subtle) {
    throw new InsecurePageError();
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64UrlEncode(new Uint8Array(digest));
}

export async function createPkcePair(): Promise<PkcePair> {
  const verifier = createCodeVerifier();
  return { verifier, challenge: await codeChallengeS256(verifier) };
}

export function createState(): string {
  return base64UrlEncode(randomBytes(STATE_BYTES));
}

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { codeChallengeS256, createCodeVerifier, createPkcePair, createState } from "../../../src/auth/pkce";

describe("PKCE", () => {
  it("derives the S256 challenge of RFC 7636, appendix B", async () => {
    const verifier = createCodeVerifier(
      new Uint8Array([116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121]),
    );
    expect(verifier).toBe("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    expect(await codeChallengeS256(verifier)).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("makes a fresh 43-character base64url verifier and its challenge", async () => {
    const first = await createPkcePair();
    const second = await createPkcePair();
    expect(first.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.verifier).not.toBe(second.verifier);
    expect(first.challenge).toBe(createHash("sha256").update(first.verifier).digest("base64url"));
  });

  it("refuses a verifier shorter than RFC 7636 allows", () => {
    expect(() => createCodeVerifier(new Uint8Array(16))).toThrow();
  });

  it("makes unguessable states", () => {
    const state = createState();
    expect(state).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(createState()).not.toBe(state);
  });
});

import { describe, expect, it } from "vitest";
import { base64UrlDecode, base64UrlEncode, uuid4 } from "../../src/random";

describe("base64url", () => {
  it("uses the URL alphabet and no padding", () => {
    // 0xfb 0xff 0xbf encodes to "+/+/" in standard base64.
    expect(base64UrlEncode(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe("-_-_");
    expect(base64UrlEncode(new Uint8Array([0x61]))).toBe("YQ");
  });

  it("decodes what it encodes, with or without padding", () => {
    const bytes = Uint8Array.from({ length: 40 }, (_, i) => (i * 37) % 256);
    expect(base64UrlDecode(base64UrlEncode(bytes))).toEqual(bytes);
    expect(base64UrlDecode("YQ==")).toEqual(new Uint8Array([0x61]));
  });

  it("refuses text outside the alphabet", () => {
    expect(() => base64UrlDecode("a+b/")).toThrow();
  });
});

describe("uuid4", () => {
  it("sets the version and variant bits of a random UUID", () => {
    const id = uuid4(new Uint8Array(16).fill(0xff));
    expect(id).toBe("ffffffff-ffff-4fff-bfff-ffffffffffff");
    expect(uuid4(new Uint8Array(16))).toBe("00000000-0000-4000-8000-000000000000");
  });

  it("makes a different well-formed key every time", () => {
    const ids = new Set(Array.from({ length: 50 }, () => uuid4()));
    expect(ids.size).toBe(50);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});

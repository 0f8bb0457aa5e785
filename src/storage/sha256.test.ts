import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Sha256, sha256Hex } from "./sha256.ts";

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("Sha256", () => {
  it("matches the FIPS 180-4 example for 'abc'", () => {
    const abc = new TextEncoder().encode("abc");
    expect(new Sha256().update(abc).digestHex()).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("agrees with node:crypto for lengths around block boundaries, fed in uneven pieces", () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 70_001]) {
      const data = bytes(n, n + 1);
      const expected = createHash("sha256").update(data).digest("hex");
      expect(new Sha256().update(data).digestHex()).toBe(expected);
      const pieces = new Sha256();
      for (let p = 0, step = 1; p < n; p += step, step = (step * 7 + 3) % 97) {
        pieces.update(data.subarray(p, Math.min(n, p + step)));
      }
      expect(pieces.digestHex()).toBe(expected);
    }
  });

  it("saves and resumes on a block boundary with the same result", () => {
    const data = bytes(10_000, 5);
    const first = new Sha256().update(data.subarray(0, 4096));
    const resumed = Sha256.resume(structuredClone(first.save())).update(data.subarray(4096));
    expect(resumed.digestHex()).toBe(createHash("sha256").update(data).digest("hex"));
    expect(() => new Sha256().update(data.subarray(0, 10)).save()).toThrow(/whole 64-byte blocks/);
  });

  it("sha256Hex (WebCrypto) agrees with node:crypto", async () => {
    const data = bytes(5000, 9);
    expect(await sha256Hex(data)).toBe(createHash("sha256").update(data).digest("hex"));
  });
});

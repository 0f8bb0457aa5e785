import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../test-support/random-weights.ts";
import { GgufStreamParser } from "./parser.ts";
import { dequantize, readTernary } from "./quants.ts";
import { sampleGguf } from "./sample-file.ts";
import { elementCount, GgufError } from "./types.ts";

/** One random corruption of a valid file: flipped bytes, huge fields, cuts, splices. */
function mutate(file: Uint8Array, r: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(r() * n);
  const out = file.slice();
  const view = new DataView(out.buffer);
  // Most mutations land in the header, where the parser's decisions are.
  const headerEnd = Math.min(out.length, 1200);
  switch (pick(6)) {
    case 0:
      for (let k = 1 + pick(4); k > 0; k--) out[pick(headerEnd)] = pick(256);
      return out;
    case 1: {
      const at = pick(headerEnd - 8);
      const huge = [0xffffffffffffffffn, 1n << 40n, 1n << 31n, 0n, BigInt(pick(1e6))][pick(5)];
      view.setBigUint64(at, huge, true);
      return out;
    }
    case 2:
      view.setUint32(pick(headerEnd - 4), [0, 9, 13, 36, 0xffffffff, pick(64)][pick(6)], true);
      return out;
    case 3:
      return out.subarray(0, pick(out.length));
    case 4: {
      const at = pick(headerEnd);
      const extra = Uint8Array.from({ length: 1 + pick(16) }, () => pick(256));
      const spliced = new Uint8Array(out.length + extra.length);
      spliced.set(out.subarray(0, at));
      spliced.set(extra, at);
      spliced.set(out.subarray(at), at + extra.length);
      return spliced;
    }
    default: {
      const at = pick(headerEnd);
      const n = 1 + pick(16);
      const cut = new Uint8Array(out.length - Math.min(n, out.length - at));
      cut.set(out.subarray(0, at));
      cut.set(out.subarray(at + n), at);
      return cut;
    }
  }
}

/** Parses in random chunks; if a header comes out, reads every tensor it declares. */
function exercise(bytes: Uint8Array, r: () => number, knownSize: boolean) {
  const parser = new GgufStreamParser(knownSize ? { fileSize: bytes.length } : {});
  let header = null;
  for (let at = 0; at < bytes.length && !header; ) {
    const n = 1 + Math.floor(r() * 300);
    header = parser.push(bytes.subarray(at, at + n));
    at += n;
  }
  header ??= parser.end();
  for (const t of header.tensors) {
    const start = header.dataOffset + t.offset;
    const data = bytes.subarray(start, start + t.byteLength);
    try {
      dequantize(t.type, data, elementCount(t.shape));
      readTernary(t.type, data, elementCount(t.shape));
    } catch (e) {
      if (!(e instanceof GgufError)) throw e;
    }
  }
  return header;
}

describe("fuzz: mutated and truncated files", () => {
  it("3000 cases (fixed seed): each parses or throws GgufError, nothing else, no blow-up", () => {
    const file = sampleGguf();
    const r = mulberry32(20261123);
    const before = process.memoryUsage();
    let parsed = 0;
    let rejected = 0;
    const started = Date.now();
    for (let i = 0; i < 3000; i++) {
      const bytes = mutate(file, r);
      try {
        exercise(bytes, r, i % 2 === 0);
        parsed++;
      } catch (e) {
        if (!(e instanceof GgufError)) {
          throw new Error(`case ${i}: ${String(e)} is not a GgufError`);
        }
        expect(e.message.length).toBeGreaterThan(10);
        rejected++;
      }
    }
    const after = process.memoryUsage();
    // Both outcomes happen, so the corpus is neither all-valid nor all-garbage.
    expect(parsed).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(500);
    expect(Date.now() - started).toBeLessThan(20_000);
    // A count trusted for an allocation would show as hundreds of MB here.
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
  });
});

import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../../test-support/random-weights.ts";
import {
  bf16ToFloat,
  dequantize,
  encodeFloats,
  encodeTernary,
  floatToBf16,
  floatToHalf,
  halfToFloat,
  readTernary,
} from "./quants.ts";
import { GgmlType, GgufError } from "./types.ts";

function randomCodes(n: number, seed: number): Int8Array {
  const r = mulberry32(seed);
  return Int8Array.from({ length: n }, () => Math.floor(r() * 3) - 1);
}

describe("f16 / bf16", () => {
  it("converts known values both ways", () => {
    // IEEE half: sign | 5-bit exponent (bias 15) | 10-bit fraction.
    const known: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [0, 0x0000],
    ];
    for (const [v, bits] of known) {
      expect(floatToHalf(v)).toBe(bits);
      expect(halfToFloat(bits)).toBe(v);
    }
    expect(floatToHalf(0.1)).toBe(0x2e66); // 0.0999755859375, the nearest half
    expect(floatToHalf(1 / 3)).toBe(0x3555);
    expect(floatToHalf(1e6)).toBe(0x7c00); // overflows to +inf
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it("every finite half survives half → float → half", () => {
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(floatToHalf(halfToFloat(h))).toBe(h);
    }
  });

  it("bf16 is the top half of a float32, rounded to nearest even", () => {
    expect(floatToBf16(1)).toBe(0x3f80);
    expect(bf16ToFloat(0xc040)).toBe(-3);
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });
});

describe("hand-built blocks", () => {
  it("TQ2_0: bits 2n..2n+1 of qs[j+m] hold weight 4j + 32n + m, code = w + 1", () => {
    const block = new Uint8Array(66).fill(0x55); // every code 1 → weight 0
    block[0] = 0b10_01_00_10; // weights 0, 32, 64, 96 ← codes 2, 0, 1, 2
    block[33] = 0b00_00_01_01; // j = 32, m = 1: weights 129, 161 ← 1, 1; 193, 225 ← 0, 0
    block[64] = 0x00; // d = f16 0x3800 = 0.5
    block[65] = 0x38;
    const want = new Float32Array(256);
    want[0] = 0.5;
    want[32] = -0.5;
    want[96] = 0.5;
    want[193] = -0.5;
    want[225] = -0.5;
    expect(dequantize(GgmlType.TQ2_0, block, 256)).toEqual(want);
    const t = readTernary(GgmlType.TQ2_0, block, 256);
    expect(t.scale).toBe(0.5);
    expect(Array.from(t.codes, (c) => c * 0.5)).toEqual(Array.from(want));
  });

  it("TQ1_0: base-3 trits scaled by 256/243, in llama.cpp's order", () => {
    // Byte 128 = ⌈121·256/243⌉ decodes to trits 1,1,1,1,1 (all weights 0); the qh
    // all-zero byte is ⌈(40·3)·256/243⌉ = 127.
    const block = new Uint8Array(54).fill(128);
    block.fill(127, 48, 52);
    // trits 2,0,1,1,0 → v = 2·81 + 9 + 3 = 174 → byte ⌈174·256/243⌉ = 184
    block[5] = 184; // qs[5]: weights 32n + 5
    block[32 + 3] = 184; // qs[35]: weights 160 + 16n + 3
    // qh trits 1,2,0,2 → v = (27 + 18 + 2)·3 = 141 → ⌈141·256/243⌉ = 149
    block[48 + 2] = 149; // qh[2]: weights 240 + 4n + 2
    block[52] = 0x00; // d = f16 0xc000 = -2
    block[53] = 0xc0;
    const want = new Float32Array(256).fill(0 * -2); // (1 − 1)·d is −0, as in C
    const trits5 = [2, 0, 1, 1, 0];
    trits5.forEach((t, n) => {
      want[32 * n + 5] = (t - 1) * -2;
      want[160 + 16 * n + 3] = (t - 1) * -2;
    });
    [1, 2, 0, 2].forEach((t, n) => {
      want[240 + 4 * n + 2] = (t - 1) * -2;
    });
    expect(dequantize(GgmlType.TQ1_0, block, 256)).toEqual(want);
    expect(readTernary(GgmlType.TQ1_0, block, 256).scale).toBe(-2);
  });

  it("I2_S: weight j of a 128-block in byte j mod 32 at shift 6 − 2⌊j/32⌋, then the f32 scale", () => {
    const bytes = new Uint8Array(32 + 32).fill(0x55); // codes 1 → 0
    bytes[0] = 0b10_00_01_10; // weights 0, 32, 64, 96 ← codes 2, 0, 1, 2
    bytes[31] = 0b01_01_01_00; // weight 127 ← code 0
    new DataView(bytes.buffer).setFloat32(32, 0.25, true);
    bytes.fill(0, 36); // rest of the tail is padding
    const want = new Float32Array(128);
    want[0] = 0.25;
    want[32] = -0.25;
    want[96] = 0.25;
    want[127] = -0.25;
    expect(dequantize(GgmlType.I2_S, bytes, 128)).toEqual(want);
    const t = readTernary(GgmlType.I2_S, bytes, 128);
    expect(t.scale).toBe(0.25);
    expect(t.codes[127]).toBe(-1);
  });

  it("F32 / F16 / BF16 read as plain little-endian floats", () => {
    const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]);
    expect(Array.from(dequantize(GgmlType.F16, f16, 3))).toEqual([1, -2, 2 ** -24]);
    const bf16 = new Uint8Array([0x80, 0x3f, 0x40, 0xc0]);
    expect(Array.from(dequantize(GgmlType.BF16, bf16, 2))).toEqual([1, -3]);
    const f32 = new Uint8Array(new Float32Array([1.5, -0.125]).buffer);
    expect(Array.from(dequantize(GgmlType.F32, f32, 2))).toEqual([1.5, -0.125]);
  });
});

describe("encode ↔ read", () => {
  const types = [
    GgmlType.I2_S,
    GgmlType.TQ1_0,
    GgmlType.TQ2_0,
    GgmlType.F32,
    GgmlType.F16,
    GgmlType.BF16,
  ];
  for (const type of types) {
    it(`${GgmlType[type]}: codes and scale come back exactly, dequantize = code × scale`, () => {
      const codes = randomCodes(1024, type);
      const scale = 0.0625;
      const bytes = encodeTernary(type, codes, scale);
      const back = readTernary(type, bytes, codes.length);
      expect(back.scale).toBe(scale);
      expect(back.codes).toEqual(codes);
      expect(dequantize(type, bytes, codes.length)).toEqual(
        Float32Array.from(codes, (c) => c * scale),
      );
    });
  }

  it("encodeFloats writes what dequantize reads", () => {
    const values = [0.5, -1.25, 3, 0];
    for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.BF16]) {
      expect(Array.from(dequantize(type, encodeFloats(type, values), 4))).toEqual(values);
    }
  });
});

describe("ternary rules", () => {
  it("TQ blocks with d = 0 are all zero; a later nonzero d sets the scale", () => {
    const codes = randomCodes(512, 7);
    const bytes = encodeTernary(GgmlType.TQ2_0, codes, 0.5);
    bytes[64] = 0; // first block's d → 0
    bytes[65] = 0;
    const t = readTernary(GgmlType.TQ2_0, bytes, 512);
    expect(t.scale).toBe(0.5);
    expect(Array.from(t.codes.subarray(0, 256)).every((c) => c === 0)).toBe(true);
    expect(t.codes.subarray(256)).toEqual(codes.subarray(256));
  });

  it("TQ blocks with differing nonzero d fail in words", () => {
    const bytes = encodeTernary(GgmlType.TQ1_0, randomCodes(512, 8), 0.5);
    bytes[54 + 53] = 0x3c; // second block d = 1.0
    expect(() => readTernary(GgmlType.TQ1_0, bytes, 512)).toThrow(/different scales/);
  });

  it("code 3 in TQ2_0 / I2_S is not ternary", () => {
    const tq2 = encodeTernary(GgmlType.TQ2_0, new Int8Array(256), 1);
    tq2[10] = 0xff;
    expect(() => readTernary(GgmlType.TQ2_0, tq2, 256)).toThrow(/code 3/);
    const i2s = encodeTernary(GgmlType.I2_S, new Int8Array(128), 1);
    i2s[3] = 0xc0;
    expect(() => readTernary(GgmlType.I2_S, i2s, 128)).toThrow(/code 3/);
  });

  it("float tensors with more than one magnitude are not ternary", () => {
    const bytes = encodeFloats(GgmlType.F32, [0.5, -0.5, 0, 0.25]);
    expect(() => readTernary(GgmlType.F32, bytes, 4)).toThrow(/not ternary/);
  });

  it("short buffers and partial blocks fail in words", () => {
    expect(() => dequantize(GgmlType.TQ2_0, new Uint8Array(65), 256)).toThrow(GgufError);
    expect(() => dequantize(GgmlType.TQ1_0, new Uint8Array(54), 100)).toThrow(/multiple of 256/);
    expect(() => dequantize(GgmlType.I2_S, new Uint8Array(32), 128)).toThrow(/needs 64 bytes/);
    expect(() => encodeTernary(GgmlType.TQ2_0, new Int8Array(256), 0.1)).toThrow(
      /not exact in f16/,
    );
  });
});

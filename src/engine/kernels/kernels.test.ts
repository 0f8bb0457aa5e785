// Every kernel against the scalar reference (src/engine/reference/ops.ts), in the build
// TRIT_KERNEL_BUILD names: SIMD128 by default; relaxed.test.ts reruns this file with the
// relaxed build under Node's --experimental-wasm-relaxed-simd.
// Integer dots must match exactly; float outputs within the tolerance stated per test.
// One file (~570 lines) because relaxed.test.ts reruns exactly this file with the other build.
import { beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../../test-support/random-weights.ts";
import { encodeTernary, GgmlType, halfToFloat } from "../gguf/index.ts";
import {
  attention,
  matVec,
  quantizeActivations,
  relu2Gate,
  rmsNorm,
  rope,
  siluGate,
  softmax,
  ternaryDots,
} from "../reference/ops.ts";
import { Arena, createMemory } from "./arena.ts";
import {
  headMajorCache,
  packedBytes,
  packedStride,
  packI2S,
  packTernaryCodes,
  packTQ2,
  paddedCols,
  paddedRows,
} from "./pack.ts";
import {
  BATCH_SCRATCH_BYTES_PER_ROW,
  instantiateKernels,
  type KernelBuild,
  type KernelExports,
  LANE_FORM,
  laneInputBytes,
  loadKernelModule,
  type TernaryForm,
} from "./wasm-module.ts";

const BUILD = (process.env.TRIT_KERNEL_BUILD ?? "simd128") as KernelBuild;
let k: KernelExports;
let arena: Arena;
const rand = mulberry32(42);

function randomCodes(n: number): Int8Array {
  return Int8Array.from({ length: n }, () => Math.floor(rand() * 3) - 1);
}
/** int8 activations including the extremes -128 and 127. */
function randomInt8(n: number): Int8Array {
  return Int8Array.from({ length: n }, () => {
    const u = rand();
    return u < 0.05 ? -128 : u < 0.1 ? 127 : Math.floor(rand() * 256) - 128;
  });
}
function randomFloats(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}
/** bf16 bits of each value: the f32's upper half, rounded to nearest, ties to even. */
function bf16Bits(v: Float32Array): Uint16Array {
  const bits = new Uint32Array(Float32Array.from(v).buffer);
  return Uint16Array.from(bits, (b) => {
    const low = b & 0xffff;
    const high = b >>> 16;
    if (low > 0x8000 || (low === 0x8000 && (high & 1) === 1)) return high + 1;
    return high;
  });
}
/** The values bf16 keeps of v, as f32. */
function bf16Round(v: Float32Array): Float32Array {
  const bits = Uint32Array.from(bf16Bits(v), (h) => h << 16);
  return new Float32Array(bits.buffer);
}
function putBf16(v: Float32Array): number {
  const h = bf16Bits(v);
  const p = arena.alloc(h.length * 2);
  arena.u16(p, h.length).set(h);
  return p;
}
function put(v: Float32Array): number {
  const p = arena.alloc(v.length * 4);
  arena.f32(p, v.length).set(v);
  return p;
}

const mod = await loadKernelModule({ build: BUILD, shared: false });
// Every ternary form is tested: the i16 forms run everywhere (a wrong one must fail
// here, not vanish behind the load-time self-test); the relaxed i32 dot-add where the
// engine computes it exactly (the relaxed build in Chromium: see
// scripts/bench/browser-check.test.ts); Node 20 has not.
// Form 3 is prefill-only (ternary_dots computes it as form 0). Form 4 (lane pairs, both
// builds) reads the weights relaid by ternary_lane_layout and its own activations.
const FORMS: TernaryForm[] = mod.forms.includes(1) ? [0, 1, 2, 3, 4] : [0, 2, 3, 4];
let form: TernaryForm = 0;

beforeAll(() => {
  const memory = createMemory(false);
  arena = new Arena(memory);
  k = instantiateKernels(mod.module, memory);
});

/**
 * Packs codes into wasm memory (relaid for the lane form) and returns what ternary_dots
 * needs.
 */
function packed(codes: Int8Array, rows: number, cols: number, f = form) {
  const stride = packedStride(cols);
  const w = arena.alloc(packedBytes(rows, cols));
  packTernaryCodes(arena.u8(w, packedBytes(rows, cols)), codes, rows, cols);
  if (f === LANE_FORM) {
    k.ternary_lane_layout(0, paddedRows(rows), w, stride, arena.alloc(paddedRows(rows) * 32));
  }
  return { w, stride };
}

/** int8 activations (padded) as ternary_dots reads them in the current form. */
function activations(xq: Int8Array, cols: number): number {
  const x = arena.alloc(paddedCols(cols));
  arena.i8(x, cols).set(xq);
  if (form !== LANE_FORM) return x;
  const lanes = arena.alloc(laneInputBytes(paddedCols(cols)));
  k.ternary_lane_inputs(x, paddedCols(cols) / 128, lanes);
  return lanes;
}

function kernelDots(codes: Int8Array, rows: number, cols: number, xq: Int8Array): Int32Array {
  const { w, stride } = packed(codes, rows, cols);
  const x = activations(xq, cols);
  const sum = xq.reduce((a, b) => a + b, 0);
  const out = arena.alloc(paddedRows(rows) * 4);
  k.ternary_dots(0, paddedRows(rows), w, stride, x, sum, out, form);
  return arena.i32(out, rows).slice();
}

describe.each(FORMS)("ternary_dots (form %i)", (mode) => {
  beforeAll(() => {
    form = mode;
  });
  const shapes: [number, number][] = [
    [1, 1],
    [3, 5],
    [5, 127],
    [7, 128],
    [9, 129],
    [13, 300],
    [6, 1000],
  ];
  for (const [rows, cols] of shapes) {
    it(`matches ternaryDots exactly on ${rows}×${cols}`, () => {
      const codes = randomCodes(rows * cols);
      const xq = randomInt8(cols);
      const expected = new Int32Array(rows);
      ternaryDots(expected, codes, rows, cols, xq);
      expect(kernelDots(codes, rows, cols, xq)).toEqual(expected);
    });
  }

  it("does not overflow on the worst case (all ±1 weights, all extreme activations)", () => {
    // the lane form is exact for quantize's [−127, 127] (a block's row-a sum must stay
    // within ±8191); the others for any int8
    const low = form === LANE_FORM ? -127 : -128;
    const rows = 9;
    const cols = 6912;
    const codes = Int8Array.from({ length: rows * cols }, (_, i) =>
      Math.floor(i / cols) % 2 ? -1 : 1,
    );
    for (const v of [low, 127]) {
      const xq = new Int8Array(cols).fill(v);
      const expected = Array.from({ length: rows }, (_, r) => (r % 2 ? -v : v) * cols);
      expect(Array.from(kernelDots(codes, rows, cols, xq))).toEqual(expected);
    }
  });

  // the 2B4T shapes: q/o (2560 → 2560), k/v (2560 → 640), gate/up (2560 → 6912), down
  const bitnetShapes: [number, number][] = [
    [640, 2560],
    [2560, 6912],
  ];
  for (const [rows, cols] of bitnetShapes) {
    it(`matches ternaryDots exactly on the 2B4T shape ${rows}×${cols}`, () => {
      const codes = randomCodes(rows * cols);
      const xq = randomInt8(cols);
      const expected = new Int32Array(rows);
      ternaryDots(expected, codes, rows, cols, xq);
      expect(kernelDots(codes, rows, cols, xq)).toEqual(expected);
    });
  }

  it("splits rows: any [begin, end) on whole groups of four gives the same dots", () => {
    const rows = 11;
    const cols = 200;
    const codes = randomCodes(rows * cols);
    const xq = randomInt8(cols);
    const { w, stride } = packed(codes, rows, cols);
    const x = activations(xq, cols);
    const sum = xq.reduce((a, b) => a + b, 0);
    const out = arena.alloc(paddedRows(rows) * 4);
    k.ternary_dots(0, 4, w, stride, x, sum, out, form);
    k.ternary_dots(4, 8, w, stride, x, sum, out, form);
    k.ternary_dots(8, 12, w, stride, x, sum, out, form);
    const expected = new Int32Array(rows);
    ternaryDots(expected, codes, rows, cols, xq);
    expect(arena.i32(out, rows)).toEqual(expected);
    // the padding row holds weight 0: its dot is 0
    expect(arena.i32(out + rows * 4, 1)[0]).toBe(0);
  });
});

describe.each(FORMS)("ternary_dots_batch (prefill, form %i)", (mode) => {
  for (const tokens of [1, 3, 4, 7, 9]) {
    it(`matches ternaryDots per token for ${tokens} tokens on 11×300`, () => {
      const rows = 11;
      const cols = 300;
      const codes = randomCodes(rows * cols);
      const { w, stride } = packed(codes, rows, cols, mode);
      const xStride = paddedCols(cols);
      const x = arena.alloc(tokens * xStride);
      const sums = arena.alloc(tokens * 4);
      const outStride = paddedRows(rows) + 3;
      const out = arena.alloc(tokens * outStride * 4);
      const expected: Int32Array[] = [];
      for (let t = 0; t < tokens; t++) {
        const xq = randomInt8(cols);
        arena.i8(x + t * xStride, cols).set(xq);
        arena.i32(sums + t * 4, 1)[0] = xq.reduce((a, b) => a + b, 0);
        const e = new Int32Array(rows);
        ternaryDots(e, codes, rows, cols, xq);
        expected.push(e);
      }
      k.ternary_dots_batch(
        0,
        paddedRows(rows),
        w,
        stride,
        x,
        xStride,
        sums,
        tokens,
        out,
        outStride,
        mode,
        arena.alloc(paddedRows(rows) * BATCH_SCRATCH_BYTES_PER_ROW),
      );
      for (let t = 0; t < tokens; t++) {
        expect(arena.i32(out + t * outStride * 4, rows)).toEqual(expected[t]);
      }
    });
  }
});

describe.each([3, 4] as const)("ternary_dots_batch row pairs (form %i) at its bound", (mode) => {
  // Over two blocks one pair's first-row sum reaches ±64·127 = ±8128 in a lane, just
  // inside the ±8192 the 2^14 lane split allows: every product at its extreme, both signs.
  it("is exact with all activations ±127 and all weights −1 or +1 (eight rows, odd tokens)", () => {
    const rows = 12; // eight rows in one pass, then a group of four (multiply-add)
    const cols = 640; // five blocks: two pairs of blocks and a single one
    const codes = new Int8Array(rows * cols);
    for (let r = 0; r < rows; r++)
      codes.fill(r % 3 === 2 ? 0 : r % 2 ? 1 : -1, r * cols, (r + 1) * cols);
    const { w, stride } = packed(codes, rows, cols, mode);
    const xStride = paddedCols(cols);
    const xs = [
      new Int8Array(cols).fill(-127),
      new Int8Array(cols).fill(127),
      Int8Array.from({ length: cols }, (_, c) => (c % 2 ? 127 : -127)),
      Int8Array.from({ length: cols }, (_, c) => (c % 3 ? -127 : 127)),
      new Int8Array(cols).fill(-127),
    ];
    const tokens = xs.length; // at least 4 (fewer take the multiply-add form)
    const x = arena.alloc(tokens * xStride);
    for (const [t, v] of xs.entries()) arena.i8(x + t * xStride, cols).set(v);
    const sums = arena.alloc(tokens * 4);
    arena.i32(sums, tokens).set(xs.map((v) => v.reduce((a, b) => a + b, 0)));
    const out = arena.alloc(tokens * rows * 4);
    const scratch = arena.alloc(rows * BATCH_SCRATCH_BYTES_PER_ROW);
    k.ternary_dots_batch(0, rows, w, stride, x, xStride, sums, tokens, out, rows, mode, scratch);
    for (let t = 0; t < tokens; t++) {
      const expected = new Int32Array(rows);
      ternaryDots(expected, codes, rows, cols, xs[t]);
      expect(arena.i32(out + t * rows * 4, rows)).toEqual(expected);
    }
  });

  it("gets activations it can take from quantize: never −128, even at the extremes", () => {
    // form 3 is exact for activations in [−127, 127]; quantize scales max|x| to 127
    for (const peak of [-1e-7, -1e-5, -0.3, -1, -3.75, -1e6, -3e38]) {
      const n = 64;
      const x = Float32Array.from({ length: n }, (_, i) => (i % 2 ? peak : -peak) * (i / n));
      x[7] = peak;
      const out = arena.alloc(n);
      k.quantize(out, put(x), n, n, arena.alloc(4));
      expect(Math.min(...arena.i8(out, n))).toBeGreaterThanOrEqual(-127);
    }
  });
});

describe("repacking from GGUF bytes", () => {
  it("I2_S bytes copy into the same layout as packed codes", () => {
    const rows = 3;
    const cols = 256;
    const codes = randomCodes(rows * cols);
    const bytes = encodeTernary(GgmlType.I2_S, codes, 0.75);
    const a = new Uint8Array(packedBytes(rows, cols));
    const b = new Uint8Array(packedBytes(rows, cols));
    packTernaryCodes(a, codes, rows, cols);
    expect(packI2S(b, bytes, rows, cols)).toBe(0.75);
    expect(b).toEqual(a);
  });

  it("TQ2_0 bytes repack into the same layout as packed codes", () => {
    const rows = 2;
    const cols = 512;
    const codes = randomCodes(rows * cols);
    const bytes = encodeTernary(GgmlType.TQ2_0, codes, 0.5);
    const a = new Uint8Array(packedBytes(rows, cols));
    const b = new Uint8Array(packedBytes(rows, cols));
    packTernaryCodes(a, codes, rows, cols);
    expect(packTQ2(b, bytes, rows, cols)).toBe(0.5);
    expect(b).toEqual(a);
  });

  it("rejects codes outside {-1, 0, 1} with a clear error", () => {
    expect(() =>
      packTernaryCodes(new Uint8Array(packedBytes(1, 1)), Int8Array.of(2), 1, 1),
    ).toThrow(/not -1, 0 or 1/);
  });
});

describe("small ops", () => {
  it("quantize matches quantizeActivations exactly (scale, codes, sum, zero padding)", () => {
    for (const n of [1, 17, 2560]) {
      const x = randomFloats(n, 3);
      // exact ties after scaling: x = max · (k + 0.5) / 127
      if (n > 4) {
        x[0] = 2;
        x[1] = (2 * 10.5) / 127;
        x[2] = (-2 * 20.5) / 127;
      }
      const expected = new Int8Array(n);
      const scale = quantizeActivations(expected, x);
      const pad = paddedCols(n);
      const out = arena.alloc(pad);
      arena.i8(out, pad).fill(99);
      const sum = arena.alloc(4);
      expect(k.quantize(out, put(x), n, pad, sum)).toBe(scale);
      expect(arena.i8(out, n)).toEqual(expected);
      expect(Array.from(arena.i8(out + n, pad - n))).toEqual(Array(pad - n).fill(0));
      expect(arena.i32(sum, 1)[0]).toBe(expected.reduce((a, b) => a + b, 0));
    }
  });

  it("scale_dots is the reference's f32(dot · weight scale / activation scale), bit for bit", () => {
    const n = 103;
    const dots = Int32Array.from({ length: n }, () => Math.floor((rand() - 0.5) * 2e6));
    const p = arena.alloc(n * 4);
    arena.i32(p, n).set(dots);
    const out = arena.alloc(n * 4);
    const wScale = 0.0123;
    const xScale = 127 / 3.7;
    k.scale_dots(out, p, n, wScale, xScale);
    const expected = Float32Array.from(dots, (d) => (d * wScale) / xScale);
    expect(arena.f32(out, n)).toEqual(expected);
  });

  it("quantize keeps an all-zero vector finite", () => {
    const out = arena.alloc(128);
    const scale = k.quantize(out, put(new Float32Array(8)), 8, 128, arena.alloc(4));
    // f32 arithmetic, as BitNet: 127 / f32(1e-5), rounded to f32
    expect(scale).toBe(Math.fround(127 / Math.fround(1e-5)));
    expect(Array.from(arena.i8(out, 8))).toEqual(Array(8).fill(0));
  });

  it("rms_norm matches rmsNorm bit for bit", () => {
    const n = 2560;
    const x = randomFloats(n, 2);
    const w = randomFloats(n);
    const expected = new Float32Array(n);
    rmsNorm(expected, x, w, 1e-5);
    const out = arena.alloc(n * 4);
    k.rms_norm(out, put(x), put(w), n, 1e-5);
    expect(arena.f32(out, n)).toEqual(expected);
  });

  it("rope matches the reference (NEOX) bit for bit given the same cos/sin", () => {
    const heads = 3;
    const headDim = 128;
    const pos = 37;
    const theta = 500000;
    const x = randomFloats(heads * headDim);
    const expected = x.slice();
    rope(expected, heads, headDim, pos, theta);
    const half = headDim / 2;
    const cs = arena.alloc(headDim * 8);
    const v = arena.f64(cs, headDim);
    for (let i = 0; i < half; i++) {
      const angle = pos * theta ** (-(2 * i) / headDim);
      v[i] = Math.cos(angle);
      v[i + half] = Math.sin(angle);
    }
    const p = put(x);
    k.rope(p, heads, headDim, cs);
    expect(arena.f32(p, heads * headDim)).toEqual(expected);
  });

  it("softmax matches within 1e-6", () => {
    const x = randomFloats(301, 8);
    const expected = x.slice();
    softmax(expected);
    const p = put(x);
    k.softmax(p, x.length);
    const got = arena.f32(p, x.length);
    for (let i = 0; i < x.length; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-6);
  });

  it("relu2_gate matches bit for bit, silu_gate within 1e-6 relative", () => {
    const n = 6912;
    const g = randomFloats(n, 4);
    const u = randomFloats(n, 4);
    const e1 = new Float32Array(n);
    relu2Gate(e1, g, u);
    const out = arena.alloc(n * 4);
    k.relu2_gate(out, put(g), put(u), n);
    expect(arena.f32(out, n)).toEqual(e1);
    const e2 = new Float32Array(n);
    siluGate(e2, g, u);
    k.silu_gate(out, put(g), put(u), n);
    const got = arena.f32(out, n);
    for (let i = 0; i < n; i++) {
      expect(Math.abs(got[i] - e2[i])).toBeLessThanOrEqual(1e-6 * Math.abs(e2[i]) + 1e-30);
    }
  });

  // head sizes: under, over and at the 32-float tile of the value sum (2B4T: 20/5 × 128)
  for (const [heads, kvHeads, headDim, maxPos] of [
    [6, 2, 12, 19],
    [6, 3, 40, 19],
    [20, 5, 128, 99],
  ]) {
    it(`attention (GQA ${heads}/${kvHeads} × ${headDim}) matches within 1e-5 on odd positions`, () => {
      const kvDim = kvHeads * headDim;
      const q = randomFloats(heads * headDim, 2);
      const keys = randomFloats(maxPos * kvDim, 2);
      const values = randomFloats(maxPos * kvDim);
      const qp = put(q);
      const kp = put(headMajorCache(keys, maxPos, kvHeads, headDim));
      const vp = put(headMajorCache(values, maxPos, kvHeads, headDim));
      const scores = arena.alloc(heads * maxPos * 4);
      const out = arena.alloc(heads * headDim * 4);
      for (const pos of [0, 1, 6, maxPos - 1]) {
        const expected = new Float32Array(heads * headDim);
        attention(expected, q, keys, values, pos, heads, kvHeads, headDim);
        k.attention(0, 2, out, qp, kp, vp, pos, heads, kvHeads, headDim, scores, maxPos);
        k.attention(2, heads, out, qp, kp, vp, pos, heads, kvHeads, headDim, scores, maxPos);
        const got = arena.f32(out, heads * headDim);
        for (let i = 0; i < expected.length; i++) {
          expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-5);
        }
      }
    });
  }

  // bf16 KV cache: the reference's attention over keys and values rounded to bf16 here
  for (const [heads, kvHeads, headDim, maxPos] of [
    [6, 3, 40, 19],
    [20, 5, 128, 99],
  ]) {
    it(`attention over a bf16 cache (GQA ${heads}/${kvHeads} × ${headDim}) matches within 1e-5`, () => {
      const kvDim = kvHeads * headDim;
      const q = randomFloats(heads * headDim, 2);
      const keys = bf16Round(randomFloats(maxPos * kvDim, 2));
      const values = bf16Round(randomFloats(maxPos * kvDim));
      const qp = put(q);
      const kp = putBf16(headMajorCache(keys, maxPos, kvHeads, headDim));
      const vp = putBf16(headMajorCache(values, maxPos, kvHeads, headDim));
      const scores = arena.alloc(heads * maxPos * 4);
      const out = arena.alloc(heads * headDim * 4);
      const qDim = heads * headDim;
      for (const pos of [0, 1, 6, maxPos - 1]) {
        const expected = new Float32Array(heads * headDim);
        attention(expected, q, keys, values, pos, heads, kvHeads, headDim);
        const args = [
          out,
          qp,
          kp,
          vp,
          pos,
          1,
          qDim,
          heads,
          kvHeads,
          headDim,
          scores,
          maxPos,
        ] as const;
        k.attention_tokens_bf16(0, 2, ...args);
        k.attention_tokens_bf16(2, heads, ...args);
        const got = arena.f32(out, heads * headDim);
        for (let i = 0; i < expected.length; i++) {
          expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-5);
        }
      }
    });
  }

  it("rope_cache_tokens_bf16 stores keys and values rounded to nearest bf16, ties to even", () => {
    const [heads, kvHeads, headDim, capacity, pos] = [4, 2, 16, 5, 3];
    const kvDim = kvHeads * headDim;
    const q = randomFloats(heads * headDim);
    const key = randomFloats(kvDim, 3);
    const value = randomFloats(kvDim, 3);
    // a tie (bits 0x3f808000: rounds to even 0x3f80) and one that rounds up (0x3f818000)
    const tie = new DataView(new ArrayBuffer(8));
    tie.setUint32(0, 0x3f808000, true);
    tie.setUint32(4, 0x3f818000, true);
    value[0] = tie.getFloat32(0, true);
    value[1] = tie.getFloat32(4, true);
    const cosSin = arena.alloc(headDim * 8);
    arena
      .f64(cosSin, headDim)
      .set(Array.from({ length: headDim }, (_, i) => (i < headDim / 2 ? 1 : 0)));
    const bytes = kvHeads * capacity * headDim * 2;
    const kc = arena.alloc(bytes);
    const vc = arena.alloc(bytes);
    k.rope_cache_tokens_bf16(
      0,
      1,
      put(q),
      put(key),
      put(value),
      heads,
      kvHeads,
      headDim,
      cosSin,
      kc,
      vc,
      pos,
      capacity,
    );
    const row = (cache: number, g: number) =>
      Array.from(arena.u16(cache + (g * capacity + pos) * headDim * 2, headDim));
    for (let g = 0; g < kvHeads; g++) {
      const part = (v: Float32Array) => v.subarray(g * headDim, (g + 1) * headDim);
      expect(row(kc, g)).toEqual(Array.from(bf16Bits(part(key))));
      expect(row(vc, g)).toEqual(Array.from(bf16Bits(part(value))));
    }
    expect(row(vc, 0).slice(0, 2)).toEqual([0x3f80, 0x3f82]);
  });
});

describe("output head", () => {
  const rows = 37;
  const cols = 2560;

  /** Tolerance for an f32 dot of n terms: a few ulps of Σ|w·x|. */
  function close(
    got: Float32Array,
    expected: Float32Array,
    w: Float32Array,
    x: Float32Array,
    rel: number,
  ) {
    for (let r = 0; r < got.length; r++) {
      let mag = 0;
      for (let c = 0; c < cols; c++) mag += Math.abs(w[r * cols + c] * x[c]);
      expect(Math.abs(got[r] - expected[r])).toBeLessThanOrEqual(rel * mag + 1e-30);
    }
  }

  it("head_f16 converts every half exactly (normals, subnormals, signed zeros) and matches matVec within 1e-5 · Σ|w·x|", () => {
    const bits = new Uint16Array(rows * cols);
    // all 63488 finite halves appear across the rows
    for (let i = 0; i < bits.length; i++) {
      let h = (i * 7919) & 0xffff;
      if (((h >> 10) & 0x1f) === 31) h &= 0x83ff; // no inf/NaN: clear the exponent
      bits[i] = h;
    }
    const w = Float32Array.from(bits, (h) => halfToFloat(h));
    const x = randomFloats(cols);
    const expected = new Float32Array(rows);
    matVec(expected, w, rows, cols, x);
    const wp = arena.alloc(bits.length * 2);
    arena.u16(wp, bits.length).set(bits);
    const out = arena.alloc(rows * 4);
    const headF16 = (v: Float32Array) => {
      const xp = put(v);
      const outScale = k.prep_head_f16(xp, xp, cols);
      k.head_f16(0, rows, wp, cols, xp, outScale, out);
    };
    headF16(x);
    close(arena.f32(out, rows), expected, w, x, 1e-5);
    // one-hot x reads single weights back exactly
    for (const c of [0, 5, 2559]) {
      const onehot = new Float32Array(cols);
      onehot[c] = 1;
      headF16(onehot);
      const got = arena.f32(out, rows);
      for (let r = 0; r < rows; r++) expect(got[r]).toBe(w[r * cols + c] + 0);
    }
    // inputs too large for the full 2^112 pre-scale take the smaller one and still match
    const big = x.map((v, i) => (i % 97 === 0 ? v * 1e9 : v));
    matVec(expected, w, rows, cols, big);
    headF16(big);
    close(arena.f32(out, rows), expected, w, big, 1e-5);
  });

  it("head_f32 matches matVec within 1e-5 · Σ|w·x|", () => {
    const w = randomFloats(rows * cols);
    const x = randomFloats(cols);
    const expected = new Float32Array(rows);
    matVec(expected, w, rows, cols, x);
    const out = arena.alloc(rows * 4);
    k.head_f32(0, rows, put(w), cols, put(x), out);
    close(arena.f32(out, rows), expected, w, x, 1e-5);
  });

  it("head_i8 equals the integer dot × row scale / activation scale", () => {
    const wq = randomInt8(rows * cols).map((v) => Math.max(v, -127));
    const scales = randomFloats(rows).map(Math.abs);
    const x = randomFloats(cols);
    const xq = new Int8Array(cols);
    const xScale = quantizeActivations(xq, x);
    const dots = new Int32Array(rows);
    ternaryDots(dots, wq, rows, cols, xq); // the reference dot works for any int8 codes
    const wp = arena.alloc(rows * cols);
    arena.i8(wp, rows * cols).set(wq);
    const x8 = arena.alloc(cols);
    arena.i8(x8, cols).set(xq);
    const x16 = arena.alloc(cols * 4);
    k.prep_head_i8(x16, x8, cols);
    const out = arena.alloc(rows * 4);
    k.head_i8(0, rows, wp, cols, put(scales), x16, xScale, out);
    const got = arena.f32(out, rows);
    for (let r = 0; r < rows; r++) expect(got[r]).toBe(Math.fround((dots[r] * scales[r]) / xScale));
  });
});

describe("build choice", () => {
  it("uses a relaxed build only when it validates and passes the self-test, else SIMD128", async () => {
    const { relaxedSimd } = await import("wasm-feature-detect");
    const mod = await loadKernelModule({ shared: false });
    if (!(await relaxedSimd())) expect(mod.build).toBe("simd128");
    else expect(["relaxed-simd", "simd128"]).toContain(mod.build);
  });
});

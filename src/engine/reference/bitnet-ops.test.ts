/**
 * The two pieces BitNet b1.58 2B4T has and llama.cpp's `bitnet` graph does not, so the
 * parity test cannot check them: per-token int8 absmax activations and relu² gating.
 * Expected values are worked out by hand from microsoft/BitNet gpu/model.py:
 *   s = 127 / max(|x|).clamp(min=1e-5); q = round(x·s).clamp(-128, 127); y = (W_int·q) · w_scale / s
 *   FFN: relu(x1)² · x3
 * Rounding is f32 arithmetic with ties to even, as torch.round (the model's training code)
 * and bitnet.cpp's kernels do.
 */
import { describe, expect, it } from "vitest";
import { quantizeActivations, relu2Gate, ternaryMatVec } from "./ops.ts";

describe("BitNet per-token int8 absmax activations", () => {
  it("rounds exact halves to even, as torch.round does", () => {
    const q = new Int8Array(5);
    // max 127: the scale is exactly 1, so these are exact ties
    expect(quantizeActivations(q, Float32Array.of(127, 62.5, -2.5, 1.5, -0.5))).toBe(1);
    expect(Array.from(q)).toEqual([127, 62, -2, 2, 0]);
  });

  it("computes the scale and the products in f32", () => {
    const q = new Int8Array(2);
    const x = Float32Array.of(3, 1);
    const s = quantizeActivations(q, x);
    // 127 / 3 rounded to f32 is not the f64 quotient
    expect(s).toBe(Math.fround(127 / 3));
    expect(s).not.toBe(127 / 3);
    expect(Array.from(q)).toEqual([127, 42]);
  });

  it("scales by 127 / max|x| and rounds to the nearest integer", () => {
    const q = new Int8Array(5);
    const s = quantizeActivations(q, Float32Array.of(0.5, -1, 0.25, 0.003, 0.502));
    expect(s).toBe(127);
    // 63.5 → 64, −127, 31.75 → 32, 0.381 → 0, 63.754 → 64
    expect(Array.from(q)).toEqual([64, -127, 32, 0, 64]);
  });

  it("uses one scale for the whole vector: a large value squeezes the small ones", () => {
    const q = new Int8Array(3);
    const s = quantizeActivations(q, Float32Array.of(100, 0.3, -0.4));
    expect(s).toBe(Math.fround(1.27));
    // 0.381 → 0, −0.508 → −1
    expect(Array.from(q)).toEqual([127, 0, -1]);
  });

  it("clamps max|x| at 1e-5, so tiny and all-zero vectors stay finite", () => {
    const q = new Int8Array(2);
    // max 2e-6 < 1e-5: s = 127 / 1e-5 = 1.27e7; 12.7 → 13, −25.4 → −25
    expect(quantizeActivations(q, Float32Array.of(1e-6, -2e-6))).toBeCloseTo(1.27e7, 0);
    expect(Array.from(q)).toEqual([13, -25]);
    expect(Number.isFinite(quantizeActivations(q, new Float32Array(2)))).toBe(true);
    expect(Array.from(q)).toEqual([0, 0]);
  });

  it("a ternary linear is the integer dot × weight scale / activation scale", () => {
    // W = [[1, 0, −1], [1, 1, 1]] × 0.5, x = [1, −2, 0.5]: s = 127/2 = 63.5,
    // q = [63.5 → 64, −127, 31.75 → 32]; dots = [64 − 32, 64 − 127 + 32] = [32, −31]
    const out = new Float32Array(2);
    ternaryMatVec(
      out,
      { rows: 2, cols: 3, codes: Int8Array.of(1, 0, -1, 1, 1, 1), scale: 0.5 },
      Float32Array.of(1, -2, 0.5),
    );
    expect(out[0]).toBeCloseTo((32 * 0.5) / 63.5, 6);
    expect(out[1]).toBeCloseTo((-31 * 0.5) / 63.5, 6);
    // and within a quantisation step of the unquantised W·x = [0.25, −0.25]
    expect(Math.abs(out[0] - 0.25)).toBeLessThan(0.01);
    expect(Math.abs(out[1] + 0.25)).toBeLessThan(0.01);
  });
});

describe("relu² gating", () => {
  it("is relu(gate)² · up", () => {
    const out = new Float32Array(4);
    relu2Gate(out, Float32Array.of(-1, 0, 0.5, 3), Float32Array.of(5, 5, 2, -1));
    expect(Array.from(out).map((v) => v + 0)).toEqual([0, 0, 0.5, -9]);
  });
});

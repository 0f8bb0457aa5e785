import { describe, expect, it } from "vitest";
import { randomBitNetWeights, smallConfig } from "../../../test-support/random-weights.ts";
import type { BitNetConfig } from "./config.ts";
import { createRunState, forward, ReferenceModel } from "./forward.ts";
import type { BitNetWeights, LayerWeights, TernaryMatrix } from "./weights.ts";

/**
 * A second, independent implementation written the way microsoft/BitNet gpu/model.py
 * writes it: float weights (codes × scale), BitLinear = F.linear(fake-quantised x, W),
 * RoPE as HF's rotate_half, the whole sequence at once with a causal mask and no cache.
 */
function naiveSequenceLogits(weights: BitNetWeights, tokens: number[]): Float64Array[] {
  const c = weights.config;
  const n = tokens.length;
  const rms = (x: number[], w: Float32Array) => {
    const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
    return x.map((v, i) => (v / Math.sqrt(ms + c.normEps)) * w[i]);
  };
  const bitLinear = (m: TernaryMatrix, x: number[]) => {
    const s = 127 / Math.max(Math.max(...x.map(Math.abs)), 1e-5);
    // C round (half away from zero), as the BitNet CPU kernels do
    const xq = x.map(
      (v) => Math.min(127, Math.max(-128, Math.sign(v) * Math.round(Math.abs(v * s)))) / s,
    );
    const out: number[] = [];
    for (let r = 0; r < m.rows; r++) {
      let acc = 0;
      for (let j = 0; j < m.cols; j++) acc += m.codes[r * m.cols + j] * m.scale * xq[j];
      out.push(acc);
    }
    return out;
  };
  const ropeHF = (x: number[], heads: number, pos: number) => {
    const d = c.headDim;
    const out = x.slice();
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < d; i++) {
        const freq = 1 / c.ropeTheta ** ((2 * (i % (d / 2))) / d);
        const rotated = i < d / 2 ? -x[h * d + i + d / 2] : x[h * d + i - d / 2];
        out[h * d + i] = x[h * d + i] * Math.cos(pos * freq) + rotated * Math.sin(pos * freq);
      }
    }
    return out;
  };
  let hs: number[][] = tokens.map((t) =>
    Array.from(weights.tokenEmbedding.subarray(t * c.hidden, (t + 1) * c.hidden)),
  );
  for (const w of weights.layers as LayerWeights[]) {
    const qs: number[][] = [];
    const ks: number[][] = [];
    const vs: number[][] = [];
    hs.forEach((h, pos) => {
      const xn = rms(h, w.attnNorm);
      qs.push(ropeHF(bitLinear(w.wq, xn), c.heads, pos));
      ks.push(ropeHF(bitLinear(w.wk, xn), c.kvHeads, pos));
      vs.push(bitLinear(w.wv, xn));
    });
    hs = hs.map((h, pos) => {
      const att: number[] = [];
      for (let head = 0; head < c.heads; head++) {
        const kvh = Math.floor((head * c.kvHeads) / c.heads);
        const scores: number[] = [];
        for (let t = 0; t < n; t++) {
          if (t > pos) {
            scores.push(Number.NEGATIVE_INFINITY); // causal mask
            continue;
          }
          let dot = 0;
          for (let i = 0; i < c.headDim; i++)
            dot += qs[pos][head * c.headDim + i] * ks[t][kvh * c.headDim + i];
          scores.push(dot / Math.sqrt(c.headDim));
        }
        const m = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < c.headDim; i++) {
          let acc = 0;
          for (let t = 0; t < n; t++) acc += (e[t] / z) * vs[t][kvh * c.headDim + i];
          att.push(acc);
        }
      }
      const o = bitLinear(w.wo, rms(att, w.attnSubNorm));
      const h1 = h.map((v, i) => v + o[i]);
      const xn = rms(h1, w.ffnNorm);
      const g = bitLinear(w.wGate, xn);
      const u = bitLinear(w.wUp, xn);
      const act =
        c.activation === "relu2"
          ? g.map((v, i) => Math.max(v, 0) ** 2 * u[i])
          : g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]);
      const down = bitLinear(w.wDown, rms(act, w.ffnSubNorm));
      return h1.map((v, i) => v + down[i]);
    });
  }
  return hs.map((h) => {
    const xn = rms(h, weights.outputNorm);
    const logits = new Float64Array(c.vocab);
    for (let v = 0; v < c.vocab; v++) {
      let acc = 0;
      for (let i = 0; i < c.hidden; i++) acc += weights.tokenEmbedding[v * c.hidden + i] * xn[i];
      logits[v] = acc;
    }
    return logits;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("reference forward pass", () => {
  for (const activation of ["relu2", "silu"] as const) {
    it(`matches a cache-free whole-sequence implementation (${activation}, GQA, 2 layers)`, () => {
      const weights = randomBitNetWeights(smallConfig({ activation }), 7);
      const tokens = [3, 17, 17, 0, 39, 8, 21];
      const expected = naiveSequenceLogits(weights, tokens);
      const model = new ReferenceModel(weights);
      tokens.forEach((t, pos) => {
        const logits = model.forward(t, pos);
        // f32 storage vs f64 math; an int8 rounding flip would show as a far larger error
        expect(maxAbsDiff(logits, expected[pos])).toBeLessThan(2e-4);
      });
      // the logits are not degenerate: positions differ and tokens are ranked
      expect(maxAbsDiff(expected[1], expected[2])).toBeGreaterThan(1e-3);
    });
  }

  it("gives the same logits after reset() as a fresh model", () => {
    const weights = randomBitNetWeights(smallConfig(), 3);
    const model = new ReferenceModel(weights);
    const first = [5, 6, 7].map((t, p) => Array.from(model.forward(t, p)));
    model.reset();
    const again = [5, 6, 7].map((t, p) => Array.from(model.forward(t, p)));
    expect(again).toEqual(first);
  });

  it("rejects a token outside the vocabulary and a position outside the cache", () => {
    const weights = randomBitNetWeights(smallConfig(), 3);
    const state = createRunState(weights.config, 4);
    expect(() => forward(weights, state, 40, 0)).toThrow(/outside the vocabulary/);
    expect(() => forward(weights, state, -1, 0)).toThrow(/outside the vocabulary/);
    expect(() => forward(weights, state, 1, 4)).toThrow(/outside the KV cache/);
    expect(() => createRunState(weights.config, 0)).toThrow(/at least one position/);
  });
});

/**
 * The 2B4T-only pieces (llama.cpp's `bitnet` graph is SiLU and quantises activations per
 * 256-block, so it cannot check these): relu² gating, per-token int8 absmax activations,
 * ffn_sub_norm between the gate and the down projection. Values derived by hand from
 * microsoft/BitNet gpu/model.py on a model small enough to do on paper.
 */
describe("2B4T FFN, derived by hand", () => {
  // 1 layer, hidden 2, ffn 2, 1 head of dim 2, vocab 3, eps 0 so the numbers are exact.
  const config: BitNetConfig = {
    architecture: "bitnet-b1.58",
    layers: 1,
    hidden: 2,
    ffn: 2,
    heads: 1,
    kvHeads: 1,
    headDim: 2,
    vocab: 3,
    contextLength: 4,
    ropeTheta: 10000,
    normEps: 0,
    activation: "relu2",
  };
  const m = (rows: number, cols: number, codes: number[], scale: number): TernaryMatrix => ({
    rows,
    cols,
    codes: Int8Array.from(codes),
    scale,
  });
  const ones = () => Float32Array.of(1, 1);
  const build = (activation: "relu2" | "silu"): BitNetWeights => ({
    config: { ...config, activation },
    // token 0 = [1, -1], token 1 = [2, 0.5], token 2 = [-1, 3]
    tokenEmbedding: Float32Array.of(1, -1, 2, 0.5, -1, 3),
    outputNorm: ones(),
    layers: [
      {
        attnNorm: ones(),
        wq: m(2, 2, [1, 0, 0, 1], 1),
        wk: m(2, 2, [1, 0, 0, 1], 1),
        wv: m(2, 2, [1, 0, 0, 1], 1),
        attnSubNorm: ones(),
        wo: m(2, 2, [0, 0, 0, 0], 1), // attention adds nothing: the FFN alone moves x
        ffnNorm: ones(),
        wGate: m(2, 2, [1, 0, 0, 1], 0.5),
        wUp: m(2, 2, [1, -1, -1, 0], 2),
        ffnSubNorm: ones(),
        wDown: m(2, 2, [1, 0, 0, 0], 0.25),
      },
    ],
  });

  // x = [1, -1]; ffn_norm: rms 1 → [1, -1]; int8: scale 127/1, q = [127, -127].
  // gate = codes·q × 0.5 / 127 = [127, -127] × 0.5 / 127 = [0.5, -0.5]
  // up   = [127+127, -127] × 2 / 127 = [4, -2]
  const gate = [0.5, -0.5];
  const up = [4, -2];
  /** ffn_sub_norm(h) then down row 0 = [1, 0]: only h[0] reaches the output. */
  const downOut0 = (h: number[]) => {
    const r = Math.sqrt((h[0] ** 2 + h[1] ** 2) / 2);
    // int8 of h/r: max |h/r| = h[0]/r (h[0] is the larger here) → q0 = 127, scale 127 r / h0
    // down[0] = 127 × 0.25 / (127 r / h0) = 0.25 h0 / r
    return (0.25 * h[0]) / r;
  };
  const logitsFor = (d0: number) => {
    const x = [1 + d0, -1];
    const r = Math.sqrt((x[0] ** 2 + x[1] ** 2) / 2);
    const xn = [x[0] / r, x[1] / r];
    return [xn[0] - xn[1], 2 * xn[0] + 0.5 * xn[1], -xn[0] + 3 * xn[1]];
  };

  it("relu²(gate)·up, then ffn_sub_norm, then down", () => {
    // relu(0.5)² × 4 = 1, relu(-0.5)² × -2 = 0 → h = [1, 0], rms √½ → down[0] = 0.25·√2
    const h = [Math.max(gate[0], 0) ** 2 * up[0], Math.max(gate[1], 0) ** 2 * up[1]];
    expect(h[0]).toBe(1);
    expect(Math.abs(h[1])).toBe(0);
    expect(downOut0(h)).toBeCloseTo(0.25 * Math.SQRT2, 12);
    const expected = logitsFor(0.25 * Math.SQRT2);
    const logits = forward(build("relu2"), createRunState(config, 4), 0, 0);
    for (let i = 0; i < 3; i++) expect(logits[i]).toBeCloseTo(expected[i], 5);
  });

  it("SiLU instead (llama.cpp's `bitnet`) gives different, also hand-derived logits", () => {
    const silu = (v: number) => v / (1 + Math.exp(-v));
    const h = [silu(gate[0]) * up[0], silu(gate[1]) * up[1]]; // [1.2449, 0.3775]
    const expected = logitsFor(downOut0(h));
    const logits = forward(build("silu"), createRunState(config, 4), 0, 0);
    for (let i = 0; i < 3; i++) expect(logits[i]).toBeCloseTo(expected[i], 5);
    // the two activations are told apart far above the 1e-5 the checks above resolve
    expect(Math.abs(logits[0] - logitsFor(0.25 * Math.SQRT2)[0])).toBeGreaterThan(1e-3);
  });
});

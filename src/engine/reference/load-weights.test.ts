import { describe, expect, it } from "vitest";
import { bitnetMetadata } from "../../../test-support/bitnet-file.ts";
import { randomBitNetWeights } from "../../../test-support/random-weights.ts";
import type { BitNetConfig } from "../bitnet/config.ts";
import type { BitNetWeights, TernaryMatrix } from "../bitnet/weights.ts";
import {
  bf16ToFloat,
  encodeFloats,
  encodeGguf,
  encodeTernary,
  floatToBf16,
  GgmlType,
  type GgufTensorSpec,
} from "../gguf/index.ts";
import { ReferenceModel } from "./forward.ts";
import { loadBitNetWeights } from "./load-weights.ts";

// hidden and ffn multiples of 256 so every packed type fits (TQ blocks are 256).
const config: BitNetConfig = {
  architecture: "bitnet-b1.58",
  layers: 2,
  hidden: 256,
  ffn: 512,
  heads: 4,
  kvHeads: 2,
  headDim: 64,
  vocab: 12,
  contextLength: 16,
  ropeTheta: 500000,
  normEps: Math.fround(1e-5), // stored as float32
  activation: "relu2",
};

/** Rounds to bfloat16, which is also exact in f16 at these magnitudes. */
const toBf16 = (v: number) => bf16ToFloat(floatToBf16(v));

/** Random weights whose values survive every format exactly (bf16 scales and embedding). */
function exactWeights(): BitNetWeights {
  const w = randomBitNetWeights(config, 5);
  for (let i = 0; i < w.tokenEmbedding.length; i++)
    w.tokenEmbedding[i] = toBf16(w.tokenEmbedding[i]);
  for (const l of w.layers) {
    for (const m of [l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown]) m.scale = toBf16(m.scale);
  }
  return w;
}

/** Index of the first difference, -1 if equal (fast on big typed arrays). */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const LINEARS = [
  ["attn_q", "wq"],
  ["attn_k", "wk"],
  ["attn_v", "wv"],
  ["attn_output", "wo"],
  ["ffn_gate", "wGate"],
  ["ffn_up", "wUp"],
  ["ffn_down", "wDown"],
] as const;

/** The weights as a GGUF file, linears in `type`; `scaleTensors` moves the scale into `.scale`. */
function toGguf(w: BitNetWeights, type: GgmlType, arch: string, scaleTensors = false): Blob {
  const md = bitnetMetadata(config, arch);
  const tensors: (GgufTensorSpec & { data: Uint8Array })[] = [];
  const floats = (name: string, shape: number[], values: Float32Array, t = GgmlType.F32) =>
    tensors.push({ name, type: t, shape, data: encodeFloats(t, values) });
  const linear = (name: string, m: TernaryMatrix) => {
    const scale = scaleTensors ? 1 : m.scale;
    tensors.push({
      name: `${name}.weight`,
      type,
      shape: [m.cols, m.rows],
      data: encodeTernary(type, m.codes, scale),
    });
    if (scaleTensors) floats(`${name}.scale`, [1], Float32Array.of(m.scale));
  };
  floats("token_embd.weight", [config.hidden, config.vocab], w.tokenEmbedding, GgmlType.F16);
  w.layers.forEach((l, i) => {
    const p = `blk.${i}`;
    floats(`${p}.attn_norm.weight`, [config.hidden], l.attnNorm);
    floats(`${p}.attn_sub_norm.weight`, [config.hidden], l.attnSubNorm);
    floats(`${p}.ffn_norm.weight`, [config.hidden], l.ffnNorm);
    floats(`${p}.ffn_sub_norm.weight`, [config.ffn], l.ffnSubNorm);
    for (const [name, key] of LINEARS) linear(`${p}.${name}`, l[key]);
  });
  floats("output_norm.weight", [config.hidden], w.outputNorm);
  return new Blob([encodeGguf(md, tensors) as Uint8Array<ArrayBuffer>]);
}

function expectSameWeights(got: BitNetWeights, want: BitNetWeights) {
  expect(firstDifference(got.tokenEmbedding, want.tokenEmbedding)).toBe(-1);
  expect(firstDifference(got.outputNorm, want.outputNorm)).toBe(-1);
  got.layers.forEach((l, i) => {
    const e = want.layers[i];
    expect(firstDifference(l.attnNorm, e.attnNorm)).toBe(-1);
    expect(firstDifference(l.attnSubNorm, e.attnSubNorm)).toBe(-1);
    expect(firstDifference(l.ffnNorm, e.ffnNorm)).toBe(-1);
    expect(firstDifference(l.ffnSubNorm, e.ffnSubNorm)).toBe(-1);
    for (const [, key] of LINEARS) {
      expect(l[key].rows).toBe(e[key].rows);
      expect(l[key].cols).toBe(e[key].cols);
      expect(l[key].scale).toBe(e[key].scale);
      expect(firstDifference(l[key].codes, e[key].codes)).toBe(-1);
    }
  });
}

describe("loadBitNetWeights", () => {
  const want = exactWeights();
  const formats: Array<[string, GgmlType]> = [
    ["I2_S", GgmlType.I2_S],
    ["TQ1_0", GgmlType.TQ1_0],
    ["TQ2_0", GgmlType.TQ2_0],
    ["F16", GgmlType.F16],
    ["BF16", GgmlType.BF16],
    ["F32", GgmlType.F32],
  ];
  for (const [label, type] of formats) {
    it(`reads every tensor of a ${label} file back exactly`, async () => {
      const fractions: number[] = [];
      const got = await loadBitNetWeights(toGguf(want, type, "bitnet-b1.58"), {
        onProgress: (f) => fractions.push(f),
      });
      expect(got.config).toEqual(config);
      expectSameWeights(got, want);
      expect(fractions.at(-1)).toBe(1);
      expect(fractions.length).toBe(2 + 11 * config.layers);
    });
  }

  it("folds llama.cpp's optional .scale tensors into the weight scale", async () => {
    const got = await loadBitNetWeights(toGguf(want, GgmlType.TQ2_0, "bitnet-b1.58", true));
    expectSameWeights(got, want);
  });

  it("gives the same logits from I2_S and TQ2_0 files of the same weights", async () => {
    const a = await loadBitNetWeights(toGguf(want, GgmlType.I2_S, "bitnet-b1.58"));
    const b = await loadBitNetWeights(toGguf(want, GgmlType.TQ2_0, "bitnet-b1.58"));
    const ma = new ReferenceModel(a);
    const mb = new ReferenceModel(b);
    for (const [pos, t] of [3, 1, 4, 1, 5].entries()) {
      expect(firstDifference(ma.forward(t, pos), mb.forward(t, pos))).toBe(-1);
    }
  });

  it("takes the activation from the architecture: llama.cpp's `bitnet` is SiLU", async () => {
    const got = await loadBitNetWeights(toGguf(want, GgmlType.TQ2_0, "bitnet"));
    expect(got.config.activation).toBe("silu");
  });

  it("says in words what is wrong with a file that is not a BitNet GGUF", async () => {
    await expect(loadBitNetWeights(new Blob([new Uint8Array(64)]))).rejects.toThrow(/magic|GGUF/i);
    const file = toGguf(want, GgmlType.TQ2_0, "bitnet-b1.58");
    await expect(loadBitNetWeights(file.slice(0, file.size - 100))).rejects.toThrow(
      /past the end|truncat/i,
    );
  });
});

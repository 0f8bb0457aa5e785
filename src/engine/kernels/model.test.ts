// The fast engine against the reference forward pass (src/engine/reference/forward.ts):
// same greedy tokens, logits within a stated tolerance; prefill equals token-by-token;
// two threads give the same logits as one. Build: TRIT_KERNEL_BUILD (see relaxed.test.ts).
import { afterAll, describe, expect, it } from "vitest";
import {
  proportionedConfig,
  randomBitNetWeights,
  smallConfig,
} from "../../../test-support/random-weights.ts";
import type { BitNetConfig } from "../bitnet/config.ts";
import type { ForwardModel } from "../bitnet/forward-model.ts";
import type { BitNetWeights } from "../bitnet/weights.ts";
import { roundToHalf } from "../gguf/index.ts";
import { ReferenceModel } from "../reference/forward.ts";
import { KernelModel } from "./model.ts";
import type { KernelBuild } from "./wasm-module.ts";

const BUILD = (process.env.TRIT_KERNEL_BUILD ?? "simd128") as KernelBuild;

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Greedy decoding: the prompt, then `steps` argmax tokens; returns tokens and all logits. */
function greedy(model: ForwardModel, prompt: number[], steps: number) {
  const tokens = [...prompt];
  const logits: Float32Array[] = [];
  for (let pos = 0; pos < prompt.length + steps - 1; pos++) {
    const l = model.forward(tokens[pos], pos).slice();
    logits.push(l);
    if (pos >= prompt.length - 1) tokens.push(argmax(l));
  }
  return { tokens, logits };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// A model with the 2B4T's proportions, small enough for the scalar reference.
const midConfig: BitNetConfig = proportionedConfig();

const models: KernelModel[] = [];
afterAll(() => {
  for (const m of models) m.dispose();
});
async function fast(weights: BitNetWeights, threads = 1, extra = {}) {
  const m = await KernelModel.create(weights, { threads, build: BUILD, ...extra });
  expect(m.build).toBe(BUILD);
  models.push(m);
  return m;
}

describe("KernelModel vs ReferenceModel", () => {
  for (const [name, config] of [
    ["the small test config (hidden 16, head dim 4)", smallConfig()],
    ["a 2B4T-proportioned model (hidden 256, 8/2 heads of 32)", midConfig],
  ] as const) {
    it(`gives the same greedy tokens and logits within 1e-3 on ${name}`, async () => {
      const weights = randomBitNetWeights(config, 7);
      const reference = new ReferenceModel(weights);
      const model = await fast(weights);
      expect(model.exactHead).toBe("f32"); // random embeddings are not halves
      const prompt = [1, 5, 9, 2];
      const a = greedy(reference, prompt, 12);
      const b = greedy(model, prompt, 12);
      expect(b.tokens).toEqual(a.tokens);
      for (let i = 0; i < a.logits.length; i++) {
        expect(maxAbsDiff(a.logits[i], b.logits[i])).toBeLessThan(1e-3);
      }
    });
  }

  it("computes the same logits in the lane form (4, relaid weights) as in the shipped layout's forms", async () => {
    const weights = randomBitNetWeights(midConfig, 11);
    const reference = new ReferenceModel(weights);
    const prompt = [3, 1, 4, 1, 5, 9, 2, 6];
    for (const threads of [1, 2]) {
      const blocks = await fast(weights, threads, { forms: [2, 3] });
      const lanes = await fast(weights, threads, { forms: [4] });
      expect([lanes.decodeForm, lanes.prefillForm, lanes.ternaryLayout]).toEqual([
        4,
        4,
        "lane pairs",
      ]);
      // prefill (batch kernel), then decode steps (one-token kernel)
      expect(lanes.prefill(prompt, 0)).toEqual(blocks.prefill(prompt, 0));
      const a = greedy(reference, [7, 7], 6);
      const b = greedy(lanes, [7, 7], 6);
      expect(b.tokens).toEqual(a.tokens);
      for (let pos = 0; pos < 6; pos++) {
        expect(lanes.forward(pos + 2, pos)).toEqual(blocks.forward(pos + 2, pos));
      }
    }
  });

  it("stores an embedding of exact halves as f16 and still matches the reference", async () => {
    const weights = randomBitNetWeights(midConfig, 3);
    weights.tokenEmbedding.forEach((v, i, e) => {
      e[i] = roundToHalf(v);
    });
    const model = await fast(weights);
    expect(model.exactHead).toBe("f16");
    const reference = new ReferenceModel(weights);
    const a = greedy(reference, [3, 4], 8);
    const b = greedy(model, [3, 4], 8);
    expect(b.tokens).toEqual(a.tokens);
    for (let i = 0; i < a.logits.length; i++) {
      expect(maxAbsDiff(a.logits[i], b.logits[i])).toBeLessThan(1e-3);
    }
  });

  it("prefill in batches gives the same logits as token-by-token forward", async () => {
    const weights = randomBitNetWeights(midConfig, 11);
    const one = await fast(weights);
    const batched = await fast(weights, 1, { maxBatch: 5 });
    const tokens = [7, 1, 2, 3, 99, 4, 5, 6, 8, 10, 11, 12, 13];
    let expected = new Float32Array(0);
    for (let p = 0; p < tokens.length; p++) expected = one.forward(tokens[p], p).slice();
    const got = batched.prefill(tokens, 0);
    expect(maxAbsDiff(got, expected)).toBe(0);
    // and decoding continues from the batched cache
    expect(batched.forward(20, tokens.length)).toEqual(one.forward(20, tokens.length));
  });

  it("two threads give exactly the logits of one thread (decode and prefill)", async () => {
    const weights = randomBitNetWeights(midConfig, 5);
    const one = await fast(weights, 1);
    const two = await fast(weights, 2, { attentionPoolMin: 0 }); // attention on the pool too
    expect(two.threads).toBe(2);
    for (let p = 0; p < 6; p++) expect(two.forward(p + 3, p)).toEqual(one.forward(p + 3, p));
    const tokens = [9, 8, 7, 6, 5, 4, 3];
    expect(two.prefill(tokens, 6)).toEqual(one.prefill(tokens, 6));
  });

  it("the int8 head stays close to the exact head (same argmax, logits within 2% of range)", async () => {
    const weights = randomBitNetWeights(midConfig, 13);
    const model = await fast(weights);
    const exact = model.forward(3, 0).slice();
    model.setInt8Head(true);
    expect(model.headFormat).toBe("int8");
    const approx = model.forward(3, 0);
    const range = Math.max(...exact) - Math.min(...exact);
    expect(maxAbsDiff(exact, approx)).toBeLessThan(0.02 * range);
    expect(argmax(approx)).toBe(argmax(exact));
  });

  it("a bf16 KV cache keeps the reference's greedy tokens, logits within 3% of range; prefill and threads agree", async () => {
    const weights = randomBitNetWeights(midConfig, 17);
    const reference = new ReferenceModel(weights);
    const model = await fast(weights, 1, { kvCache: "bf16" });
    expect(model.kv.format).toBe("bf16");
    const prompt = [1, 5, 9, 2];
    const a = greedy(reference, prompt, 20);
    const b = greedy(model, prompt, 20);
    expect(b.tokens).toEqual(a.tokens);
    // bf16 keeps 8 bits of each cached value; one rounding can flip an int8 activation
    // downstream, so logits move by a few percent of their spread at worst
    for (let i = 0; i < a.logits.length; i++) {
      const range = Math.max(...a.logits[i]) - Math.min(...a.logits[i]);
      expect(maxAbsDiff(a.logits[i], b.logits[i])).toBeLessThan(0.03 * range);
    }
    const batched = await fast(weights, 2, { kvCache: "bf16", maxBatch: 5, attentionPoolMin: 0 });
    expect(batched.prefill(b.tokens.slice(0, 13), 0)).toEqual(b.logits[12]);
  });

  it("rejects bad tokens, positions and shapes in words", async () => {
    const weights = randomBitNetWeights(smallConfig(), 1);
    const model = await fast(weights);
    expect(() => model.forward(-1, 0)).toThrow(/outside the vocabulary/);
    expect(() => model.forward(0, 32)).toThrow(/outside the KV cache/);
    const bad = { ...weights, layers: weights.layers.slice(1) };
    await expect(KernelModel.create(bad)).rejects.toThrow(/layers/);
  });
});

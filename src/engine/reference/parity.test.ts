/**
 * Parity of the reference forward pass with an independent implementation: llama.cpp
 * (node-llama-cpp's prebuilt CPU binary), on the generator's tiny models, in every format
 * llama.cpp loads (TQ1_0, TQ2_0, F16, F32; it cannot read I2_S, which only the BitNet
 * fork knows — I2_S is checked against TQ2_0 at the end instead).
 *
 * Which is which:
 * - Checked against llama.cpp: everything its `bitnet` graph shares with 2B4T — embedding,
 *   RMSNorms incl. attn_sub_norm / ffn_sub_norm, ternary linears × scale, NEOX RoPE, GQA
 *   with the KV cache, the gated FFN (SiLU in llama.cpp's `bitnet`), final norm, tied head.
 * - Not in llama.cpp's graph, tested by hand in bitnet-ops.test.ts and forward.test.ts:
 *   relu² (2B4T's FFN activation) and BitNet's per-token int8 absmax activations.
 *   llama.cpp rounds the activations entering a linear its own way: Q8_K per 256-value
 *   block for TQ weights, f16 for F16 weights, not at all for F32. So the graph is
 *   compared with that rounding emulated (ActivationRounding), and BitNet's own int8
 *   pass is compared within quantisation noise.
 *
 * Tolerances, and why.
 * - One int8 rounding that lands the other way (a 1-ulp difference in, say, an RMSNorm
 *   or SiLU straddling a rounding boundary) shifts the next layer's activations by a
 *   quantisation step, which flips more roundings there: across the tiny model's 3 layers
 *   it moves logits by up to ~0.3 (measured by nudging activations: ±1e-5 relative gives
 *   one flip and 0.28). So per-position logits can only be held tight where nothing can
 *   cascade: on a 1-layer variant, emulated logits agree within 1e-3 for TQ and F32
 *   (measured ≤ 5e-5) and 2e-2 for F16 (measured ≤ 6.3e-3; see EMULATED_TOLERANCE). Any
 *   structural mistake (RoPE pairing, a missing sub-norm, a misplaced scale, a wrong
 *   head) moves them by O(1).
 * - On the 3-layer tiny models, with llama.cpp's rounding emulated, 32 greedy tokens after
 *   a rendered chat prompt are identical to llama.cpp's, in every format. Checked step by
 *   step on llama.cpp's sequence, so that an exact near-tie (gap < TIE) broken the other
 *   way by a cascade is named as such rather than failing everything after it.
 * - BitNet's own int8 pass vs llama.cpp (TQ2_0): logits within quantisation noise, RMS
 *   ≤ 5 % and max ≤ 25 % of the logits' std (measured ~3 % and ~18 %); teacher-forced on
 *   llama.cpp's 32 greedy tokens, our argmax agrees on most steps, and where it does not,
 *   llama.cpp's token is within that same noise of our top logit (a near-tie).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ControlledEvaluateInputItem,
  getLlama,
  type Llama,
  LlamaLogLevel,
  type Token,
} from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ModelShape,
  TINY_SHAPE,
  type WeightFormat,
  writeBitNetModels,
} from "../../../test-support/bitnet-model.ts";
import { llama3TokenizerGguf } from "../../../test-support/tokenizer.ts";
import type { BitNetWeights } from "../bitnet/weights.ts";
import { chatPromptTokens } from "../generate/prompt.ts";
import { readGgufHeader, roundToHalf } from "../gguf/index.ts";
import { openGgufFile } from "../gguf/node.ts";
import { Tokenizer } from "../tokenizer/tokenizer.ts";
import { type LinearInputs, ReferenceModel } from "./forward.ts";
import { loadBitNetWeights } from "./load-weights.ts";

const SEED = 20250414;
const LOGIT_POSITIONS = 16;
/** Logit gap under which two tokens count as tied (see the greedy test). */
const TIE = 0.01;
const GREEDY_TOKENS = 32;
const LLAMA_FORMATS: WeightFormat[] = ["tq1_0", "tq2_0", "f16", "f32"];
/** The generator's tiny shape with one layer, where no rounding flip can cascade. */
const ONE_LAYER: ModelShape = { ...TINY_SHAPE, layers: 1 };

let dir: string;
let llama: Llama;
let prompt: number[];
const pathOf = (format: WeightFormat, layers = "") => join(dir, `tiny${layers}-${format}.gguf`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "trit-parity-"));
  const tokenizer = llama3TokenizerGguf();
  await writeBitNetModels(
    TINY_SHAPE,
    [...LLAMA_FORMATS, "i2_s" as const].map((format) => ({ format, path: pathOf(format) })),
    { seed: SEED, name: "trit parity tiny", tokenizer },
  );
  await writeBitNetModels(
    ONE_LAYER,
    LLAMA_FORMATS.map((format) => ({ format, path: pathOf(format, "-1layer") })),
    { seed: SEED, name: "trit parity tiny, one layer", tokenizer },
  );
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  // every file carries the same tokenizer and template
  prompt = await chatPrompt(pathOf("tq2_0"));
}, 180_000);

afterAll(async () => {
  await llama?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** ggml's nearest_int: round half to even (the 1.5·2²³ trick), on a float32 value. */
function nearestEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** llama.cpp's quantize_row_q8_K_ref, dequantised: 256-blocks, iscale = −127 / (signed max). */
function q8kRound(out: Float32Array, x: Float32Array) {
  for (let b = 0; b < x.length; b += 256) {
    let amax = 0;
    let max = 0;
    for (let j = b; j < b + 256; j++) {
      if (Math.abs(x[j]) > amax) {
        amax = Math.abs(x[j]);
        max = x[j];
      }
    }
    if (amax === 0) {
      out.fill(0, b, b + 256);
      continue;
    }
    const iscale = Math.fround(-127 / max);
    const d = Math.fround(1 / iscale);
    for (let j = b; j < b + 256; j++) {
      out[j] = Math.min(127, nearestEven(Math.fround(iscale * x[j]))) * d;
    }
  }
}

function halfRound(out: Float32Array, x: Float32Array) {
  for (let i = 0; i < x.length; i++) out[i] = roundToHalf(x[i]);
}

const identity = (out: Float32Array, x: Float32Array) => out.set(x);

/**
 * Emulated-logit tolerance on the 1-layer files. TQ and F32: measured ≤ 5e-5. F16: measured
 * ≤ 6.3e-3, because a 1-ulp difference upstream can round an activation to the
 * neighbouring f16 value (a 1e-3 relative step), which int8 steps are too coarse to see.
 */
const EMULATED_TOLERANCE: Record<string, number> = {
  tq1_0: 1e-3,
  tq2_0: 1e-3,
  f16: 2e-2,
  f32: 1e-3,
};

/**
 * llama.cpp's activations, emulated: each ternary linear computes scale × Σ code · round(x)
 * in float, where round is how llama.cpp's CPU backend rounds activations for that weight
 * type, and the head reads head(x).
 */
interface ActivationRounding {
  linear(out: Float32Array, x: Float32Array): void;
  head(out: Float32Array, x: Float32Array): void;
}

function llamaCppInputs(rounding: ActivationRounding, widest: number): LinearInputs {
  const xr = new Float32Array(widest);
  let cols = 0;
  return {
    prepare(x) {
      cols = x.length;
      rounding.linear(xr.subarray(0, cols), x);
    },
    linear(out, w) {
      for (let r = 0; r < w.rows; r++) {
        let acc = 0;
        for (let c = 0; c < w.cols; c++) acc += w.codes[r * w.cols + c] * xr[c];
        out[r] = acc * w.scale;
      }
    },
    head(x) {
      rounding.head(x, x);
    },
  };
}

/** llama.cpp's rounding as a LinearInputs strategy for the reference model. */
function llamaCppReference(weights: BitNetWeights, format: string): ReferenceModel {
  const widest = Math.max(weights.config.hidden, weights.config.ffn);
  return new ReferenceModel(weights, 128, llamaCppInputs(LLAMA_ROUNDING[format], widest));
}

/** How llama.cpp's CPU backend rounds activations for each weight format of the tiny files. */
const LLAMA_ROUNDING: Record<string, ActivationRounding> = {
  // TQ dot products take Q8_K activations; the F16 token_embd head takes f16 ones.
  tq1_0: { linear: q8kRound, head: halfRound },
  tq2_0: { linear: q8kRound, head: halfRound },
  f16: { linear: halfRound, head: halfRound },
  // the f32 file has an F32 embedding too
  f32: { linear: identity, head: identity },
};

function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

function compare(ours: Float32Array, theirs: Map<number, number>) {
  let sum = 0;
  let sumSq = 0;
  let diffSq = 0;
  let maxDiff = 0;
  for (const [token, v] of theirs) {
    sum += v;
    sumSq += v * v;
    const d = Math.abs(v - ours[token]);
    diffSq += d * d;
    maxDiff = Math.max(maxDiff, d);
  }
  const n = theirs.size;
  return { std: Math.sqrt(sumSq / n - (sum / n) ** 2), rms: Math.sqrt(diffSq / n), maxDiff };
}

/** The rendered chat prompt, tokenised by our tokenizer; both engines get these ids. */
async function chatPrompt(path: string): Promise<number[]> {
  const header = await readGgufHeader(await openGgufFile(path));
  const tokenizer = Tokenizer.fromGgufMetadata(header.metadata);
  return chatPromptTokens(
    tokenizer,
    [
      { role: "system", content: "You are a helpful assistant who answers briefly." },
      { role: "user", content: "Why is the sky blue? Explain it to a child." },
    ],
    header.metadata["tokenizer.chat_template"],
  );
}

/** Each file's weights, loaded once for all the tests that read them. */
const loaded = new Map<string, Promise<BitNetWeights>>();
function weightsOf(path: string): Promise<BitNetWeights> {
  let w = loaded.get(path);
  if (!w) {
    w = openGgufFile(path).then((blob) => loadBitNetWeights(blob));
    loaded.set(path, w);
  }
  return w;
}

/**
 * llama.cpp on `prompt`: full logits of the first positions when `withLogits` (building
 * those 128256-entry maps is the slow part), then `greedy` tokens of its own continuation.
 */
async function llamaRun(path: string, prompt: number[], greedy: number, withLogits: boolean) {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const context = await model.createContext({
      contextSize: 128,
      threads: 2,
      flashAttention: false,
      // f32 KV cache: the reference keeps f32 keys and values
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
    });
    const sequence = context.getSequence();
    const last = prompt.length - 1;
    // temperature 0 is node-llama-cpp's default: greedy
    const next = { token: true } as const;
    const input = prompt.map((id, i): ControlledEvaluateInputItem => {
      const t = id as Token; // node-llama-cpp brands token ids
      if (i === last && greedy > 0) return [t, { generateNext: next }];
      return i < LOGIT_POSITIONS && withLogits ? [t, { generateNext: { logits: true } }] : t;
    });
    const first = await sequence.controlledEvaluate(input);
    const logits = first
      .slice(0, LOGIT_POSITIONS)
      .map((o) => o?.next.logits as Map<number, number>);
    const tokens: number[] = [];
    let token = first[last]?.next.token;
    while (tokens.length < greedy && token != null) {
      tokens.push(token);
      if (tokens.length === greedy) break;
      const [out] = await sequence.controlledEvaluate([[token, { generateNext: next }]]);
      token = out?.next.token;
    }
    await context.dispose();
    return { logits, tokens };
  } finally {
    await model.dispose();
  }
}

/** llama.cpp's greedy run on each 3-layer file, once (TQ2_0's also with logits, for the BitNet test). */
const greedyRuns = new Map<WeightFormat, ReturnType<typeof llamaRun>>();
function llamaGreedy(format: WeightFormat) {
  let run = greedyRuns.get(format);
  if (!run) {
    run = llamaRun(pathOf(format), prompt, GREEDY_TOKENS, format === "tq2_0");
    greedyRuns.set(format, run);
  }
  return run;
}

/**
 * Ours: logits of the first positions, then `steps` greedy steps (argmax, lowest id on
 * ties). With `forced`, the tokens fed back are those instead of our own choices (teacher
 * forcing), and each step also reports how far below our top logit the forced token was.
 */
function oursRun(model: ReferenceModel, prompt: number[], steps: number, forced?: number[]) {
  const logits: Float32Array[] = [];
  let last: Float32Array = new Float32Array(0);
  prompt.forEach((t, pos) => {
    last = model.forward(t, pos);
    if (pos < LOGIT_POSITIONS) logits.push(Float32Array.from(last));
  });
  const tokens: number[] = [];
  const deficits: number[] = [];
  for (let i = 0; i < steps; i++) {
    const best = argmax(last);
    tokens.push(best);
    const fed = forced ? forced[i] : best;
    deficits.push(last[best] - last[fed]);
    if (i + 1 < steps) last = model.forward(fed, prompt.length + i);
  }
  return { logits, tokens, deficits };
}

describe.each(LLAMA_FORMATS)("parity with llama.cpp: %s", (format) => {
  it(`1-layer model, llama.cpp's activation rounding: logits of the first ${LOGIT_POSITIONS} positions within ${EMULATED_TOLERANCE[format]}`, async () => {
    const path = pathOf(format, "-1layer");
    const weights = await weightsOf(path);
    expect(prompt.length).toBeGreaterThanOrEqual(LOGIT_POSITIONS);
    const theirs = await llamaRun(path, prompt, 0, true);
    const ours = oursRun(llamaCppReference(weights, format), prompt.slice(0, LOGIT_POSITIONS), 0);
    for (let pos = 0; pos < LOGIT_POSITIONS; pos++) {
      expect(theirs.logits[pos].size).toBe(weights.config.vocab);
      const c = compare(ours.logits[pos], theirs.logits[pos]);
      expect(c.std).toBeGreaterThan(0.5); // logits that say something
      expect(c.maxDiff, `position ${pos}`).toBeLessThan(EMULATED_TOLERANCE[format]);
    }
  }, 60_000);

  it(`3-layer tiny model, llama.cpp's activation rounding: ${GREEDY_TOKENS} greedy tokens after a chat prompt identical (exact ties excepted)`, async () => {
    const weights = await weightsOf(pathOf(format));
    const theirs = await llamaGreedy(format);
    expect(theirs.tokens.length).toBe(GREEDY_TOKENS);
    // Fed llama.cpp's tokens, our argmax must be llama.cpp's token at every step (so the
    // free-running sequences are identical), except at an exact near-tie, where a rounding
    // cascade may break the tie the other way: allowed only within TIE of our top logit.
    const ours = oursRun(llamaCppReference(weights, format), prompt, GREEDY_TOKENS, theirs.tokens);
    const ties: number[] = [];
    ours.tokens.forEach((t, i) => {
      if (t === theirs.tokens[i]) return;
      expect(ours.deficits[i], `step ${i}: ${t} vs llama.cpp's ${theirs.tokens[i]}`).toBeLessThan(
        TIE,
      );
      ties.push(i);
    });
    // Measured on this prompt: none, the 32 tokens are identical in every format (a shorter
    // prompt showed one, a gap of 0.002, in the TQ files).
    expect(ties.length).toBeLessThanOrEqual(1);
    // a real continuation, not one token over and over
    expect(new Set(theirs.tokens).size).toBeGreaterThan(8);
  }, 60_000);
});

describe("BitNet's own int8 activations vs llama.cpp (tiny TQ2_0)", () => {
  it("logits within quantisation noise; llama.cpp's greedy tokens are ours or near-ties", async () => {
    const path = pathOf("tq2_0");
    const weights = await weightsOf(path);
    const theirs = await llamaGreedy("tq2_0");
    const ours = oursRun(new ReferenceModel(weights, 128), prompt, GREEDY_TOKENS, theirs.tokens);
    let noise = 0;
    for (let pos = 0; pos < LOGIT_POSITIONS; pos++) {
      const c = compare(ours.logits[pos], theirs.logits[pos]);
      expect(c.rms, `position ${pos}`).toBeLessThan(0.05 * c.std);
      expect(c.maxDiff, `position ${pos}`).toBeLessThan(0.25 * c.std);
      noise = Math.max(noise, c.maxDiff);
    }
    const agree = ours.tokens.filter((t, i) => t === theirs.tokens[i]).length;
    expect(agree).toBeGreaterThanOrEqual(0.75 * GREEDY_TOKENS);
    for (const [i, deficit] of ours.deficits.entries()) {
      expect(deficit, `step ${i}: llama.cpp's token is not a near-tie for us`).toBeLessThanOrEqual(
        noise,
      );
    }
  }, 60_000);
});

describe("the same weights in every format", () => {
  it("load identically from I2_S, TQ1_0, TQ2_0, F16 and F32, and I2_S and TQ2_0 give identical logits", async () => {
    const load = (f: WeightFormat) => weightsOf(pathOf(f));
    const i2s = await load("i2_s");
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      return true;
    };
    for (const f of LLAMA_FORMATS) {
      const w = await load(f);
      expect(same(w.tokenEmbedding, i2s.tokenEmbedding), `${f} embedding`).toBe(true);
      expect(same(w.outputNorm, i2s.outputNorm)).toBe(true);
      w.layers.forEach((l, i) => {
        const e = i2s.layers[i];
        for (const key of ["wq", "wk", "wv", "wo", "wGate", "wUp", "wDown"] as const) {
          expect(l[key].scale, `${f} layer ${i} ${key}`).toBe(e[key].scale);
          expect(same(l[key].codes, e[key].codes), `${f} layer ${i} ${key}`).toBe(true);
        }
        for (const key of ["attnNorm", "attnSubNorm", "ffnNorm", "ffnSubNorm"] as const) {
          expect(same(l[key], e[key]), `${f} layer ${i} ${key}`).toBe(true);
        }
      });
    }
    // The generator names i2_s files `bitnet-b1.58` (relu², like the published 2B4T file)
    // and the others `bitnet` (SiLU, llama.cpp's graph): same weights, so run both with
    // the i2_s config; the logits must be bit-identical.
    const tq2 = await load("tq2_0");
    expect(i2s.config.activation).toBe("relu2");
    expect(tq2.config.activation).toBe("silu");
    const a = new ReferenceModel(i2s, 16);
    const b = new ReferenceModel({ ...tq2, config: i2s.config }, 16);
    for (const [pos, t] of [128000, 791, 4062, 14198, 39935].entries()) {
      expect(same(a.forward(t, pos), b.forward(t, pos)), `position ${pos}`).toBe(true);
    }
  }, 60_000);
});

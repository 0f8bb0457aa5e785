// One benchmark run of Trit's engine in this JavaScript context (Node here; the browser
// page runs the same function in a Worker). Prints nothing; returns the figures.
import { loadKernelWeights } from "../../src/engine/kernels/gguf-weights.ts";
import type { KvFormat } from "../../src/engine/kernels/memory-layout.ts";
import { KernelModel } from "../../src/engine/kernels/model.ts";
import {
  formName,
  type KernelBuild,
  type TernaryForm,
} from "../../src/engine/kernels/wasm-module.ts";
import { bytesPerToken, measureReadBandwidth } from "./roofline.ts";

export interface BenchParams {
  threads: number;
  promptTokens: number;
  genTokens: number;
  int8Head?: boolean;
  build?: KernelBuild;
  /** Positions of context before the long-context decode (0: no long-context run). */
  context?: number;
  /** The long prompt timed as one prefill (its first tokens of the context). */
  longPrompt?: number;
  /** Tokens decoded after `context` positions. */
  longGen?: number;
  /** Also compare the int8 head with the exact one on a token stream (quality figures). */
  quality?: boolean;
  kvCache?: KvFormat;
  /** Only these ternary forms are candidates (default: all, the engine times them). */
  ternaryForms?: TernaryForm[];
}

/**
 * BenchParams from the children's FLAGS argument: a comma list of int8, kv-bf16, quality
 * and formN (only ternary form N is a candidate; several allowed).
 */
export function benchFlags(
  flags: string,
): Pick<BenchParams, "int8Head" | "kvCache" | "quality" | "ternaryForms"> {
  const set = new Set(flags.split(",").filter(Boolean));
  const forms: TernaryForm[] = [];
  for (const f of set) {
    const form = /^form([0-4])$/.exec(f);
    if (form) forms.push(Number(form[1]) as TernaryForm);
    else if (!["int8", "kv-bf16", "quality"].includes(f))
      throw new Error(`unknown bench flag ${f}`);
  }
  return {
    int8Head: set.has("int8"),
    kvCache: set.has("kv-bf16") ? "bf16" : "f32",
    quality: set.has("quality"),
    ternaryForms: forms.length > 0 ? forms : undefined,
  };
}

export interface BenchResult {
  build: string;
  /** The ternary kernel forms the load-time probe chose. */
  forms: string;
  threads: number;
  /** The threads that ran at the end: the count decode timing found fastest (≤ threads). */
  active_threads: number;
  head: string;
  load_s: number;
  prefill_tok_s: number;
  /** 1 / median step time. */
  decode_tok_s: number;
  /** Tokens / total decode time (noisier). */
  decode_mean_tok_s: number;
  /** Weight bytes streamed per decoded token. */
  bytes_per_token: number;
  decode_gb_s: number;
  /** Read bandwidth of the same threads over the same memory. */
  bandwidth_gb_s: number;
  roofline_fraction: number;
  /** The greedy tokens decoded (to compare runs). */
  tokens: number[];
  /** Prefill of the long prompt (longPrompt tokens from position 0). */
  prefill_tok_s_long?: number;
  /** 1 / median step time after `context` positions. */
  decode_tok_s_long?: number;
  /** The int8 head against the exact head (see headQuality). */
  quality?: HeadQuality;
  /** Milliseconds per token of each op family (KernelModel.profile): decode, prefill. */
  profile_decode_ms?: Record<string, number>;
  profile_decode_long_ms?: Record<string, number>;
  profile_prefill_long_ms?: Record<string, number>;
  /** At each long-context step: the argmax, and −log p of the stream's next token. */
  long_top1?: number[];
  long_nll?: number[];
  kv_cache?: string;
}

/** A profile's milliseconds divided by the tokens it covered. */
function perToken(profile: Record<string, number>, tokens: number): Record<string, number> {
  return Object.fromEntries(Object.entries(profile).map(([op, ms]) => [op, ms / tokens]));
}

/** How the approximate int8 head compares with the exact head over one token stream. */
export interface HeadQuality {
  positions: number;
  /** Positions where both heads' largest logit is the same token. */
  top1_agreement: number;
  /** Perplexity of the stream's next tokens under each head, and the change in percent. */
  ppl_exact: number;
  ppl_int8: number;
  ppl_change_pct: number;
}

/** The benchmark prompt: fixed token ids, the same for every engine. */
export function benchPrompt(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1000 + ((i * 7919) % 100000));
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** −log p(target) under softmax(logits), in f64. */
function nll(logits: Float32Array, target: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return Math.log(sum) - (logits[target] - max);
}

/**
 * Runs `stream` token by token through the exact head, then through the int8 head, and
 * compares the greedy choice and the next token's likelihood at every position.
 */
function headQuality(model: KernelModel, stream: number[]): HeadQuality {
  const pass = () => {
    const top: number[] = [];
    let loss = 0;
    for (let i = 0; i + 1 < stream.length; i++) {
      const logits = model.forward(stream[i], i);
      top.push(argmax(logits));
      loss += nll(logits, stream[i + 1]);
    }
    return { top, ppl: Math.exp(loss / (stream.length - 1)) };
  };
  model.setInt8Head(false);
  const exact = pass();
  model.setInt8Head(true);
  const int8 = pass();
  const same = exact.top.filter((t, i) => t === int8.top[i]).length;
  return {
    positions: exact.top.length,
    top1_agreement: same / exact.top.length,
    ppl_exact: exact.ppl,
    ppl_int8: int8.ppl,
    ppl_change_pct: 100 * (int8.ppl / exact.ppl - 1),
  };
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

export async function runTrit(blob: Blob, p: BenchParams): Promise<BenchResult> {
  const t0 = performance.now();
  const weights = await loadKernelWeights(blob);
  const model = await KernelModel.create(weights, {
    threads: p.threads,
    build: p.build,
    maxPositions: Math.max(p.promptTokens + p.genTokens, (p.context ?? 0) + (p.longGen ?? 0)) + 1,
    int8Head: p.int8Head,
    kvCache: p.kvCache,
    forms: p.ternaryForms,
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const prompt = benchPrompt(p.promptTokens);
    // warm-up: a short prefill and a token (wasm tier-up, page faults)
    model.prefill(prompt.slice(0, 8), 0);
    model.forward(prompt[0], 0);
    // prefill: median of three runs over the same positions
    const prefillTimes: number[] = [];
    let logits: Float32Array = new Float32Array(0);
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      logits = model.prefill(prompt, 0);
      prefillTimes.push((performance.now() - t) / 1000);
    }
    // decode: greedy; the median step time (the machine is shared: medians resist noise)
    const tokens: number[] = [];
    const stepTimes: number[] = [];
    let token = argmax(logits);
    model.profile(true);
    for (let i = 0; i < p.genTokens; i++) {
      tokens.push(token);
      const t = performance.now();
      logits = model.forward(token, p.promptTokens + i);
      stepTimes.push((performance.now() - t) / 1000);
      token = argmax(logits);
    }
    const profileDecode = perToken(model.takeProfile(), p.genTokens);
    model.profile(false);
    const long = p.context ? longContext(model, p) : {};
    const quality = p.quality ? headQuality(model, benchPrompt(p.promptTokens + 1)) : undefined;
    const bandwidth = await measureReadBandwidth(model, 9);
    const bytes = bytesPerToken(model.config, model.headFormat);
    const decode = 1 / median(stepTimes);
    const decodeGbS = (decode * bytes) / 1e9;
    return {
      build: model.build,
      forms: `decode ${formName(model.decodeForm, model.build)}, prefill ${formName(model.prefillForm, model.build)}`,
      threads: model.threads,
      active_threads: model.activeThreads,
      head: model.headFormat,
      kv_cache: model.kv.format,
      load_s: loadSeconds,
      prefill_tok_s: p.promptTokens / median(prefillTimes),
      decode_tok_s: decode,
      decode_mean_tok_s: p.genTokens / stepTimes.reduce((a, b) => a + b, 0),
      bytes_per_token: bytes,
      decode_gb_s: decodeGbS,
      bandwidth_gb_s: bandwidth,
      roofline_fraction: decodeGbS / bandwidth,
      tokens,
      profile_decode_ms: profileDecode,
      ...long,
      quality,
    };
  } finally {
    model.dispose();
  }
}

/**
 * The long-context figures: the first `longPrompt` tokens of a `context`-token prompt
 * prefilled as one timed call, the rest untimed, then `longGen` greedy steps after it.
 */
function longContext(model: KernelModel, p: BenchParams): Partial<BenchResult> {
  const context = p.context ?? 0;
  const first = Math.min(p.longPrompt ?? context, context);
  const prompt = benchPrompt(context);
  model.profile(true);
  let t = performance.now();
  let logits = model.prefill(prompt.slice(0, first), 0);
  const prefillSeconds = (performance.now() - t) / 1000;
  const profilePrefill = perToken(model.takeProfile(), first);
  if (first < context) logits = model.prefill(prompt.slice(first), first);
  model.takeProfile();
  // the steps read a fixed token stream (not their own argmax), so that runs with another
  // KV cache format see the same tokens: their top-1 and next-token loss compare one to one
  const gen = p.longGen ?? 16;
  const stream = benchPrompt(context + gen + 1).slice(context);
  const stepTimes: number[] = [];
  const top1: number[] = [argmax(logits)];
  const nlls: number[] = [nll(logits, stream[0])];
  for (let i = 0; i < gen; i++) {
    t = performance.now();
    logits = model.forward(stream[i], context + i);
    stepTimes.push((performance.now() - t) / 1000);
    top1.push(argmax(logits));
    nlls.push(nll(logits, stream[i + 1]));
  }
  const profileDecode = perToken(model.takeProfile(), stepTimes.length);
  model.profile(false);
  return {
    prefill_tok_s_long: first / prefillSeconds,
    decode_tok_s_long: 1 / median(stepTimes),
    profile_prefill_long_ms: profilePrefill,
    profile_decode_long_ms: profileDecode,
    long_top1: top1,
    long_nll: nlls,
  };
}

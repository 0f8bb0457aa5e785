// One benchmark run of Trit's engine in this JavaScript context (Node here; the browser
// page runs the same function in a Worker). Prints nothing; returns the figures.
import { loadKernelWeights } from "../../src/engine/kernels/gguf-weights.ts";
import { KernelModel } from "../../src/engine/kernels/model.ts";
import { formName, type KernelBuild } from "../../src/engine/kernels/wasm-module.ts";
import { bytesPerToken, measureReadBandwidth } from "./roofline.ts";

export interface BenchParams {
  threads: number;
  promptTokens: number;
  genTokens: number;
  int8Head?: boolean;
  build?: KernelBuild;
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
}

/** The benchmark prompt: fixed token ids, the same for every engine. */
export function benchPrompt(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1000 + ((i * 7919) % 100000));
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
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
    maxPositions: p.promptTokens + p.genTokens + 1,
    int8Head: p.int8Head,
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
    for (let i = 0; i < p.genTokens; i++) {
      tokens.push(token);
      const t = performance.now();
      logits = model.forward(token, p.promptTokens + i);
      stepTimes.push((performance.now() - t) / 1000);
      token = argmax(logits);
    }
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
      load_s: loadSeconds,
      prefill_tok_s: p.promptTokens / median(prefillTimes),
      decode_tok_s: decode,
      decode_mean_tok_s: p.genTokens / stepTimes.reduce((a, b) => a + b, 0),
      bytes_per_token: bytes,
      decode_gb_s: decodeGbS,
      bandwidth_gb_s: bandwidth,
      roofline_fraction: decodeGbS / bandwidth,
      tokens,
    };
  } finally {
    model.dispose();
  }
}

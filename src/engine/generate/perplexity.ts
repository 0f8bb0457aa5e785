/**
 * How well a model predicts a text: per-token negative log-likelihood, perplexity and
 * bits per byte. Texts longer than the KV cache are cut into windows of
 * (positions − 1) tokens, each read after a fresh BOS, so every token of the text is
 * predicted exactly once (scripts/demo-model/export.py computes the same on the Python
 * side).
 */
import type { ForwardModel } from "../bitnet/forward-model.ts";

export interface PerplexityResult {
  /** Tokens of the text predicted (BOS not counted). */
  tokens: number;
  /** UTF-8 bytes of the text. */
  bytes: number;
  /** Mean NLL in nats per token. */
  mean_nll: number;
  perplexity: number;
  /** Total NLL in bits over the text's UTF-8 bytes: comparable across vocabularies. */
  bits_per_byte: number;
}

/** −log softmax(logits)[target], in f64. */
export function tokenNll(logits: Float32Array, target: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return Math.log(sum) + max - logits[target];
}

/**
 * NLL of each of `ids` (the text's tokens, no BOS), reading it in windows of
 * model.maxPositions − 1 tokens after `bos`. Resets the model's cache. `onLogits`, when
 * given, sees the logits that predict ids[i] (to compare two engines' or formats' choices).
 */
export function textNll(
  model: ForwardModel,
  ids: readonly number[],
  bos: number,
  options: {
    onProgress?: (done: number, total: number) => void;
    onLogits?: (logits: Float32Array, i: number) => void;
  } = {},
): number[] {
  const window = model.maxPositions - 1;
  if (window < 1) throw new Error("Perplexity needs a KV cache of at least 2 positions.");
  const out: number[] = [];
  for (let start = 0; start < ids.length; start += window) {
    model.reset();
    let logits = model.forward(bos, 0);
    const end = Math.min(start + window, ids.length);
    for (let i = start; i < end; i++) {
      out.push(tokenNll(logits, ids[i]));
      options.onLogits?.(logits, i);
      if (i + 1 < end) logits = model.forward(ids[i], i - start + 1);
    }
    options.onProgress?.(end, ids.length);
  }
  model.reset();
  return out;
}

/** Sums per-token NLLs of a text of `bytes` UTF-8 bytes into the figures above. */
export function summarizeNll(nll: readonly number[], bytes: number): PerplexityResult {
  if (nll.length === 0) throw new Error("The text has no tokens to predict.");
  const total = nll.reduce((a, b) => a + b, 0);
  const mean = total / nll.length;
  return {
    tokens: nll.length,
    bytes,
    mean_nll: mean,
    perplexity: Math.exp(mean),
    bits_per_byte: total / Math.LN2 / bytes,
  };
}

/**
 * How one layer's attention runs: on the calling thread, or split over the pool. Every way
 * gives the same floats (each head's arithmetic keeps its order; see
 * wasm-kernels/assembly/attention.ts).
 */
import type { KernelPool } from "./pool.ts";

/** One layer's attention step: buffers are byte offsets into the kernels' memory. */
export interface AttentionStep {
  /** Output: heads · headDim floats per token. */
  out: number;
  /** RoPE'd queries: heads · headDim floats per token. */
  q: number;
  /** The layer's KV cache ([kvHead][capacity][headDim], f32 or bf16). */
  keys: number;
  values: number;
  /** Position of the first query; token t attends to positions 0..pos + t. */
  pos: number;
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Scratch: heads · capacity floats of scores, heads floats of softmax scales. */
  scores: number;
  inv: number;
  capacity: number;
  bf16: boolean;
  /**
   * Query × key × dim products from which the pool takes part (below it, a pool round
   * trip costs more than the work).
   */
  poolMin: number;
}

/** Positions per chunk of the score job are a multiple of this (the kernels' tile). */
const SCORE_ALIGN = 32;

/**
 * Runs the attention step. Small ones stay on this thread. A batch (prefill) splits by
 * head. One query (decode) splits three ways, so that the threads share even one head
 * group's work (a split by head would leave 3 of 5 groups to one thread, or read each
 * group's keys and values twice): scores by positions, softmax by head, value sums by
 * slice of the head dimension.
 */
export function runAttention(pool: KernelPool, a: AttentionStep): void {
  const qDim = a.heads * a.headDim;
  const last = a.pos + a.tokens - 1;
  const small = (last + 1) * a.tokens * qDim < a.poolMin;
  if (small || pool.active === 1) batchAttention(pool, a, false);
  else if (a.tokens > 1) batchAttention(pool, a, true);
  else {
    const bf16 = a.bf16 ? 1 : 0;
    const { heads, kvHeads, headDim, scores, capacity } = a;
    pool.run("attention_scores", 0, a.pos + 1, SCORE_ALIGN, [
      a.q,
      a.keys,
      heads,
      kvHeads,
      headDim,
      scores,
      capacity,
      bf16,
    ]);
    pool.run("attention_softmax", 0, heads, 1, [scores, a.pos, capacity, a.inv]);
    const units = pool.exports.attention_value_units(kvHeads, headDim);
    pool.run("attention_values", 0, units, 1, [
      a.out,
      a.values,
      a.pos,
      heads,
      kvHeads,
      headDim,
      scores,
      capacity,
      a.inv,
      bf16,
    ]);
  }
}

/** attention_tokens over all heads: on this thread, or split by head over the pool. */
function batchAttention(pool: KernelPool, a: AttentionStep, onPool: boolean): void {
  const kernel = a.bf16 ? "attention_tokens_bf16" : "attention_tokens";
  const qDim = a.heads * a.headDim;
  const args = [
    a.out,
    a.q,
    a.keys,
    a.values,
    a.pos,
    a.tokens,
    qDim,
    a.heads,
    a.kvHeads,
    a.headDim,
    a.scores,
    a.capacity,
  ] as const;
  if (onPool) pool.run(kernel, 0, a.heads, 1, [...args]);
  else pool.exports[kernel](0, a.heads, ...args);
}

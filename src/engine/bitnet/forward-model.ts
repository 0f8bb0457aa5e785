import type { BitNetConfig } from "./config.ts";

/**
 * What the generation loop drives: one token at a time into a model that keeps its own
 * KV cache. The reference pass (src/engine/reference/) and the wasm engine (src/engine/kernels/) both
 * implement it, so the same loop runs either.
 */
export interface ForwardModel {
  readonly config: BitNetConfig;
  /** Positions the KV cache holds. */
  readonly maxPositions: number;
  /** Runs `token` at `pos`; returns logits, valid until the next call. */
  forward(token: number, pos: number): Float32Array;
  /**
   * Optional batched prompt: runs tokens at positions startPos.. and returns the logits
   * after the last one. Engines that read each weight once per batch (the wasm engine)
   * implement it; without it the loop calls forward() per token.
   */
  prefill?(tokens: ArrayLike<number>, startPos: number): Float32Array;
  /** Forgets the KV cache (the next token starts again at position 0). */
  reset(): void;
}

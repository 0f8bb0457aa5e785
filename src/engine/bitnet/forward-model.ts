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
  /**
   * Optional context shift (as llama.cpp's): drops cache positions keep..keep+discard-1 and
   * moves positions keep+discard..used-1 down by `discard`, turning their keys by the
   * RoPE angle of the new position, so the kept tokens need no recomputing. Their values
   * and hidden states still carry what they saw of the dropped tokens (an approximation
   * the model tolerates). Positions from used - discard on are free afterwards.
   */
  shiftCache?(keep: number, discard: number, used: number): void;
  /** Forgets the KV cache (the next token starts again at position 0). */
  reset(): void;
}

/** Checks a context shift's arguments (see ForwardModel.shiftCache), in words. */
export function checkShift(keep: number, discard: number, used: number, maxPositions: number) {
  const whole = [keep, discard, used].every((n) => Number.isInteger(n) && n >= 0);
  if (!whole || discard < 1 || keep + discard > used || used > maxPositions) {
    throw new Error(
      `Cannot shift the KV cache: keep ${keep}, discard ${discard} of ${used} used positions (it holds ${maxPositions}).`,
    );
  }
}

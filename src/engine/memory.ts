import type { BitNetConfig } from "./bitnet/config.ts";

/**
 * How much wasm memory a model needs, from its config and file size, before it is loaded:
 * the whole engine lives in one 32-bit wasm memory, so past 4 GiB it cannot load at all.
 */

/** A wasm32 memory addresses at most 4 GiB (65536 pages of 64 KiB). */
export const WASM32_MAX_BYTES = 2 ** 32;

/**
 * Beyond the weights and the KV cache: activations for a batch, attention scores, logits
 * and the kernels' own data. Tens of MB for the 2B4T; this is a generous bound.
 */
export const WORKING_BYTES = 64 * 2 ** 20;

/** The KV cache: a key and a value of kvHeads × headDim f32 per layer and position. */
export function kvCacheBytes(config: BitNetConfig, positions: number): number {
  return config.layers * 2 * positions * config.kvHeads * config.headDim * 4;
}

export interface MemoryPlan {
  /** The weights, about as big as the file (ternary weights repack to 2 bits each). */
  weightsBytes: number;
  kvCacheBytes: number;
  workingBytes: number;
  totalBytes: number;
  limitBytes: number;
  /** False when the total passes the wasm32 ceiling: loading would fail. */
  fits: boolean;
}

/** The memory a model of this config and file size needs with a KV cache of `positions`. */
export function planModelMemory(
  config: BitNetConfig,
  fileBytes: number,
  positions = config.contextLength,
): MemoryPlan {
  const kv = kvCacheBytes(config, positions);
  const totalBytes = fileBytes + kv + WORKING_BYTES;
  return {
    weightsBytes: fileBytes,
    kvCacheBytes: kv,
    workingBytes: WORKING_BYTES,
    totalBytes,
    limitBytes: WASM32_MAX_BYTES,
    fits: totalBytes <= WASM32_MAX_BYTES,
  };
}

/** What the engine holds once loaded (the worker reports it with the loaded model). */
export interface EngineMemory {
  /** The wasm memory's size: what the engine has taken from the browser. */
  wasmBytes: number;
  kvCacheBytes: number;
}

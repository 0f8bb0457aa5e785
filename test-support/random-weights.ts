import type { BitNetConfig } from "../src/engine/bitnet/config.ts";
import type { BitNetWeights, LayerWeights, TernaryMatrix } from "../src/engine/bitnet/weights.ts";

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). Deterministic across platforms. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A small BitNet config for tests; override what you need. */
export function smallConfig(overrides: Partial<BitNetConfig> = {}): BitNetConfig {
  const base: BitNetConfig = {
    architecture: "bitnet-b1.58",
    layers: 2,
    hidden: 16,
    ffn: 24,
    heads: 4,
    kvHeads: 2,
    headDim: 4,
    vocab: 40,
    contextLength: 32,
    ropeTheta: 10000,
    normEps: 1e-5,
    activation: "relu2",
  };
  return { ...base, ...overrides };
}

/**
 * The 2B4T's proportions (GQA 4:1 of 32-wide heads, relu², theta 500000) at a size the
 * scalar reference runs in a fraction of a second per token.
 */
export function proportionedConfig(overrides: Partial<BitNetConfig> = {}): BitNetConfig {
  return smallConfig({
    layers: 3,
    hidden: 256,
    ffn: 688,
    heads: 8,
    kvHeads: 2,
    headDim: 32,
    vocab: 300,
    contextLength: 64,
    ropeTheta: 500000,
    ...overrides,
  });
}

/**
 * Random weights of the BitNet shape, for tests and benchmarks without a GGUF file:
 * ternary codes about one third each, per-tensor scales that keep activations sane,
 * norm weights near 1.
 */
export function randomBitNetWeights(config: BitNetConfig, seed = 1): BitNetWeights {
  const rand = mulberry32(seed);
  const ternary = (rows: number, cols: number): TernaryMatrix => {
    const codes = new Int8Array(rows * cols);
    for (let i = 0; i < codes.length; i++) codes[i] = Math.floor(rand() * 3) - 1;
    // absmean-like scale: about 1/sqrt(cols) keeps each output near unit size
    return { rows, cols, codes, scale: (0.5 + rand()) / Math.sqrt(cols) };
  };
  const norm = (n: number) => Float32Array.from({ length: n }, () => 0.8 + 0.4 * rand());
  const q = config.heads * config.headDim;
  const kv = config.kvHeads * config.headDim;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.layers; l++) {
    layers.push({
      attnNorm: norm(config.hidden),
      wq: ternary(q, config.hidden),
      wk: ternary(kv, config.hidden),
      wv: ternary(kv, config.hidden),
      attnSubNorm: norm(q),
      wo: ternary(config.hidden, q),
      ffnNorm: norm(config.hidden),
      wGate: ternary(config.ffn, config.hidden),
      wUp: ternary(config.ffn, config.hidden),
      ffnSubNorm: norm(config.ffn),
      wDown: ternary(config.hidden, config.ffn),
    });
  }
  const tokenEmbedding = Float32Array.from(
    { length: config.vocab * config.hidden },
    () => (rand() * 2 - 1) * 0.5,
  );
  return { config, tokenEmbedding, layers, outputNorm: norm(config.hidden) };
}

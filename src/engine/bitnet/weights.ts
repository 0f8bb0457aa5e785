import type { BitNetConfig } from "./config.ts";

/**
 * A ternary linear layer: `rows` outputs × `cols` inputs, row-major, every weight in
 * {-1, 0, +1} times one scale for the whole tensor (BitNet's absmean quantisation).
 */
export interface TernaryMatrix {
  rows: number;
  cols: number;
  /** rows × cols values in {-1, 0, 1}; row r is codes[r*cols .. (r+1)*cols). */
  codes: Int8Array;
  scale: number;
}

export interface LayerWeights {
  attnNorm: Float32Array;
  wq: TernaryMatrix;
  wk: TernaryMatrix;
  wv: TernaryMatrix;
  attnSubNorm: Float32Array;
  wo: TernaryMatrix;
  ffnNorm: Float32Array;
  wGate: TernaryMatrix;
  wUp: TernaryMatrix;
  ffnSubNorm: Float32Array;
  wDown: TernaryMatrix;
}

/** Everything the reference forward pass reads, in plain arrays. */
export interface BitNetWeights {
  config: BitNetConfig;
  /** vocab × hidden, row-major; also the tied output head. */
  tokenEmbedding: Float32Array;
  layers: LayerWeights[];
  outputNorm: Float32Array;
}

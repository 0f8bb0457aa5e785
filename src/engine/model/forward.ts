/**
 * The reference BitNet b1.58 forward pass: scalar, obvious, one token at a time, in the
 * style of llama2.c's run.c. It is the spec the wasm engine (src/engine/kernels/) is
 * tested against, so it keeps the same step names.
 *
 * Where each piece sits was checked against two sources:
 * - microsoft/BitNet gpu/model.py (the 2B4T reference): attn_sub_norm on the attention
 *   output before wo; ffn_sub_norm on relu²(gate)·up before w2; per-token absmax int8
 *   activations into every BitLinear; output = int dot × weight scale / activation scale.
 * - llama.cpp src/models/bitnet.cpp (`bitnet`): the same graph, but the FFN is SiLU-gated
 *   (hard-coded LLM_FFN_SILU), optional `.scale` tensors multiply each linear's output,
 *   RoPE is NEOX (llama_model_rope_type), tied head (tok_embd).
 */

import {
  attention,
  matVec,
  quantizeActivations,
  relu2Gate,
  rmsNorm,
  rope,
  siluGate,
  ternaryDots,
} from "../ops/reference.ts";
import type { BitNetConfig } from "./config.ts";
import type { BitNetWeights, TernaryMatrix } from "./weights.ts";

/** Scratch buffers and KV cache, allocated once; forward() allocates nothing else. */
export interface RunState {
  /** Positions the KV cache holds. */
  maxPositions: number;
  /** The residual stream (hidden). */
  x: Float32Array;
  /** Normed input of a block (hidden). */
  xb: Float32Array;
  /** A block's output before the residual add (hidden). */
  xb2: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  /** Attention output, all heads (hidden). */
  att: Float32Array;
  /** FFN gate and up (ffn). */
  hb: Float32Array;
  hb2: Float32Array;
  /** int8 activations and integer dots of the ternary linears (max(hidden, ffn)). */
  xq: Int8Array;
  dots: Int32Array;
  logits: Float32Array;
  /** Per layer: [position][kvHeads × headDim], f32. */
  keyCache: Float32Array[];
  valueCache: Float32Array[];
  /** Parity tests only: round activations the way another engine does (see ActivationRounding). */
  rounding?: ActivationRounding;
  /** The rounded activations when `rounding` is set (max(hidden, ffn)). */
  xr: Float32Array;
}

/**
 * For parity tests against engines that handle activations differently from BitNet:
 * llama.cpp quantises them per 256-block (Q8_K) for TQ types, rounds them to f16 for F16
 * weights and leaves them f32 for F32. When set, each ternary linear computes
 * scale × Σ code · linear(x) in float instead of BitNet's per-token int8, and the head
 * reads head(x). Everything else in the pass is unchanged.
 */
export interface ActivationRounding {
  linear(out: Float32Array, x: Float32Array): void;
  head(out: Float32Array, x: Float32Array): void;
}

/** Allocates the run state; the KV cache holds `maxPositions` (default: the model's context). */
export function createRunState(
  config: BitNetConfig,
  maxPositions = config.contextLength,
  rounding?: ActivationRounding,
): RunState {
  if (!Number.isInteger(maxPositions) || maxPositions < 1) {
    throw new Error(`The KV cache needs at least one position, got ${maxPositions}.`);
  }
  const kvDim = config.kvHeads * config.headDim;
  const widest = Math.max(config.hidden, config.ffn);
  return {
    maxPositions,
    x: new Float32Array(config.hidden),
    xb: new Float32Array(config.hidden),
    xb2: new Float32Array(config.hidden),
    q: new Float32Array(config.heads * config.headDim),
    k: new Float32Array(kvDim),
    v: new Float32Array(kvDim),
    att: new Float32Array(config.heads * config.headDim),
    hb: new Float32Array(config.ffn),
    hb2: new Float32Array(config.ffn),
    xq: new Int8Array(widest),
    dots: new Int32Array(widest),
    logits: new Float32Array(config.vocab),
    keyCache: Array.from({ length: config.layers }, () => new Float32Array(maxPositions * kvDim)),
    valueCache: Array.from({ length: config.layers }, () => new Float32Array(maxPositions * kvDim)),
    rounding,
    xr: new Float32Array(rounding ? widest : 0),
  };
}

/** BitNet's per-token int8 quantisation of x into s.xq; returns the activation scale. */
function quantizeInput(s: RunState, x: Float32Array): number {
  if (s.rounding) {
    s.rounding.linear(s.xr.subarray(0, x.length), x);
    return 1;
  }
  return quantizeActivations(s.xq.subarray(0, x.length), x);
}

/** out = (W · x) with x already quantised into s.xq: integer dots × weight scale / activation scale. */
function ternaryLinear(out: Float32Array, w: TernaryMatrix, s: RunState, xScale: number) {
  if (s.rounding) {
    matVecTernaryFloat(out, w, s.xr);
    return;
  }
  const dots = s.dots.subarray(0, w.rows);
  ternaryDots(dots, w.codes, w.rows, w.cols, s.xq.subarray(0, w.cols));
  for (let r = 0; r < w.rows; r++) out[r] = (dots[r] * w.scale) / xScale;
}

/** out = scale × Σ code · x in float (the parity-test path, see ActivationRounding). */
function matVecTernaryFloat(out: Float32Array, w: TernaryMatrix, x: Float32Array) {
  for (let r = 0; r < w.rows; r++) {
    let acc = 0;
    for (let c = 0; c < w.cols; c++) acc += w.codes[r * w.cols + c] * x[c];
    out[r] = acc * w.scale;
  }
}

/**
 * Runs one token at position `pos` (0-based) and returns the logits over the vocabulary.
 * The returned array is the state's buffer: it is overwritten by the next call.
 * Positions 0..pos-1 must already be in the KV cache (from earlier calls).
 */
export function forward(
  weights: BitNetWeights,
  s: RunState,
  token: number,
  pos: number,
): Float32Array {
  const c = weights.config;
  if (!Number.isInteger(token) || token < 0 || token >= c.vocab) {
    throw new Error(`Token id ${token} is outside the vocabulary (0..${c.vocab - 1}).`);
  }
  if (!Number.isInteger(pos) || pos < 0 || pos >= s.maxPositions) {
    throw new Error(`Position ${pos} is outside the KV cache (0..${s.maxPositions - 1}).`);
  }
  const kvDim = c.kvHeads * c.headDim;
  const gate = c.activation === "relu2" ? relu2Gate : siluGate;

  // token embedding
  s.x.set(weights.tokenEmbedding.subarray(token * c.hidden, (token + 1) * c.hidden));

  for (let l = 0; l < c.layers; l++) {
    const w = weights.layers[l];
    const keyCache = s.keyCache[l];
    const valueCache = s.valueCache[l];

    // attention rmsnorm
    rmsNorm(s.xb, s.x, w.attnNorm, c.normEps);

    // qkv matmuls (one int8 quantisation of xb serves all three, as BitNet's fused wqkv does)
    let xScale = quantizeInput(s, s.xb);
    ternaryLinear(s.q, w.wq, s, xScale);
    ternaryLinear(s.k, w.wk, s, xScale);
    ternaryLinear(s.v, w.wv, s, xScale);

    // RoPE (NEOX) on q and k
    rope(s.q, c.heads, c.headDim, pos, c.ropeTheta);
    rope(s.k, c.kvHeads, c.headDim, pos, c.ropeTheta);

    // store k, v in the cache at pos
    keyCache.set(s.k, pos * kvDim);
    valueCache.set(s.v, pos * kvDim);

    // grouped-query attention over positions 0..pos
    attention(s.att, s.q, keyCache, valueCache, pos, c.heads, c.kvHeads, c.headDim);

    // attn_sub_norm, then the output projection
    rmsNorm(s.att, s.att, w.attnSubNorm, c.normEps);
    xScale = quantizeInput(s, s.att);
    ternaryLinear(s.xb2, w.wo, s, xScale);

    // residual
    for (let i = 0; i < c.hidden; i++) s.x[i] += s.xb2[i];

    // ffn rmsnorm
    rmsNorm(s.xb, s.x, w.ffnNorm, c.normEps);

    // gate and up matmuls (one quantisation of xb, as BitNet's fused w13 does)
    xScale = quantizeInput(s, s.xb);
    ternaryLinear(s.hb, w.wGate, s, xScale);
    ternaryLinear(s.hb2, w.wUp, s, xScale);

    // gated activation: relu²(gate)·up for 2B4T, silu(gate)·up for llama.cpp's `bitnet`
    gate(s.hb, s.hb, s.hb2);

    // ffn_sub_norm, then the down projection
    rmsNorm(s.hb, s.hb, w.ffnSubNorm, c.normEps);
    xScale = quantizeInput(s, s.hb);
    ternaryLinear(s.xb2, w.wDown, s, xScale);

    // residual
    for (let i = 0; i < c.hidden; i++) s.x[i] += s.xb2[i];
  }

  // final rmsnorm
  rmsNorm(s.x, s.x, weights.outputNorm, c.normEps);

  // tied output head: logits = token_embd · x
  if (s.rounding) s.rounding.head(s.x, s.x);
  matVec(s.logits, weights.tokenEmbedding, c.vocab, c.hidden, s.x);
  return s.logits;
}

/**
 * What the generation loop drives: one token at a time into a model that keeps its own
 * KV cache. The reference pass below and the wasm engine (src/engine/kernels/) both
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

/** The reference forward pass as a ForwardModel. */
export class ReferenceModel implements ForwardModel {
  readonly config: BitNetConfig;
  readonly maxPositions: number;
  readonly state: RunState;

  constructor(
    readonly weights: BitNetWeights,
    maxPositions = weights.config.contextLength,
    rounding?: ActivationRounding,
  ) {
    this.config = weights.config;
    this.state = createRunState(weights.config, maxPositions, rounding);
    this.maxPositions = maxPositions;
  }

  forward(token: number, pos: number): Float32Array {
    return forward(this.weights, this.state, token, pos);
  }

  reset(): void {
    // Attention reads only positions 0..pos, so stale entries are harmless; zero them anyway
    // so a reset model is indistinguishable from a fresh one.
    for (const cache of this.state.keyCache) cache.fill(0);
    for (const cache of this.state.valueCache) cache.fill(0);
  }
}

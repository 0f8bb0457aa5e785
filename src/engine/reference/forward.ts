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

import type { BitNetConfig } from "../bitnet/config.ts";
import { checkShift, type ForwardModel } from "../bitnet/forward-model.ts";
import type { BitNetWeights, TernaryMatrix } from "../bitnet/weights.ts";
import {
  attention,
  matVec,
  quantizeActivations,
  relu2Gate,
  rmsNorm,
  rope,
  siluGate,
  ternaryDots,
} from "./ops.ts";

/**
 * How the ternary linears read their input. BitNet quantises it per token to int8
 * (bitnetInt8Inputs, the default); a parity test against another engine passes a strategy
 * that rounds the way that engine does. The forward pass itself has one path.
 */
export interface LinearInputs {
  /** Takes x as the input of the linears that follow (BitNet: quantise it to int8). */
  prepare(x: Float32Array): void;
  /** out = W · (the prepared input). */
  linear(out: Float32Array, w: TernaryMatrix): void;
  /** Prepares the final hidden state for the head, in place (BitNet: nothing). */
  head(x: Float32Array): void;
}

/** BitNet's per-token int8 absmax activations: integer dots × weight scale / activation scale. */
export function bitnetInt8Inputs(config: BitNetConfig): LinearInputs {
  const widest = Math.max(config.hidden, config.ffn);
  const xq = new Int8Array(widest);
  const dots = new Int32Array(widest);
  let xScale = 1;
  let cols = 0;
  return {
    prepare(x) {
      cols = x.length;
      xScale = quantizeActivations(xq.subarray(0, cols), x);
    },
    linear(out, w) {
      const d = dots.subarray(0, w.rows);
      ternaryDots(d, w.codes, w.rows, w.cols, xq.subarray(0, cols));
      for (let r = 0; r < w.rows; r++) out[r] = (d[r] * w.scale) / xScale;
    },
    head() {},
  };
}

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
  logits: Float32Array;
  /** Per layer: [position][kvHeads × headDim], f32. */
  keyCache: Float32Array[];
  valueCache: Float32Array[];
  /** How the ternary linears read their input (see LinearInputs). */
  inputs: LinearInputs;
}

/** Allocates the run state; the KV cache holds `maxPositions` (default: the model's context). */
export function createRunState(
  config: BitNetConfig,
  maxPositions = config.contextLength,
  inputs: LinearInputs = bitnetInt8Inputs(config),
): RunState {
  if (!Number.isInteger(maxPositions) || maxPositions < 1) {
    throw new Error(`The KV cache needs at least one position, got ${maxPositions}.`);
  }
  const kvDim = config.kvHeads * config.headDim;
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
    logits: new Float32Array(config.vocab),
    keyCache: Array.from({ length: config.layers }, () => new Float32Array(maxPositions * kvDim)),
    valueCache: Array.from({ length: config.layers }, () => new Float32Array(maxPositions * kvDim)),
    inputs,
  };
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
    s.inputs.prepare(s.xb);
    s.inputs.linear(s.q, w.wq);
    s.inputs.linear(s.k, w.wk);
    s.inputs.linear(s.v, w.wv);

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
    s.inputs.prepare(s.att);
    s.inputs.linear(s.xb2, w.wo);

    // residual
    for (let i = 0; i < c.hidden; i++) s.x[i] += s.xb2[i];

    // ffn rmsnorm
    rmsNorm(s.xb, s.x, w.ffnNorm, c.normEps);

    // gate and up matmuls (one quantisation of xb, as BitNet's fused w13 does)
    s.inputs.prepare(s.xb);
    s.inputs.linear(s.hb, w.wGate);
    s.inputs.linear(s.hb2, w.wUp);

    // gated activation: relu²(gate)·up for 2B4T, silu(gate)·up for llama.cpp's `bitnet`
    gate(s.hb, s.hb, s.hb2);

    // ffn_sub_norm, then the down projection
    rmsNorm(s.hb, s.hb, w.ffnSubNorm, c.normEps);
    s.inputs.prepare(s.hb);
    s.inputs.linear(s.xb2, w.wDown);

    // residual
    for (let i = 0; i < c.hidden; i++) s.x[i] += s.xb2[i];
  }

  // final rmsnorm
  rmsNorm(s.x, s.x, weights.outputNorm, c.normEps);

  // tied output head: logits = token_embd · x
  s.inputs.head(s.x);
  matVec(s.logits, weights.tokenEmbedding, c.vocab, c.hidden, s.x);
  return s.logits;
}

/** The reference forward pass as a ForwardModel. */
export class ReferenceModel implements ForwardModel {
  readonly config: BitNetConfig;
  readonly maxPositions: number;
  readonly state: RunState;

  constructor(
    readonly weights: BitNetWeights,
    maxPositions = weights.config.contextLength,
    inputs?: LinearInputs,
  ) {
    this.config = weights.config;
    this.state = createRunState(weights.config, maxPositions, inputs);
    this.maxPositions = maxPositions;
  }

  forward(token: number, pos: number): Float32Array {
    return forward(this.weights, this.state, token, pos);
  }

  shiftCache(keep: number, discard: number, used: number): void {
    checkShift(keep, discard, used, this.maxPositions);
    const c = this.config;
    const kvDim = c.kvHeads * c.headDim;
    for (let l = 0; l < c.layers; l++) {
      const keys = this.state.keyCache[l];
      const values = this.state.valueCache[l];
      keys.copyWithin(keep * kvDim, (keep + discard) * kvDim, used * kvDim);
      values.copyWithin(keep * kvDim, (keep + discard) * kvDim, used * kvDim);
      // RoPE is a rotation by pos × frequency: turning a key by -discard positions gives
      // the key at its new position.
      for (let p = keep; p < used - discard; p++) {
        rope(
          keys.subarray(p * kvDim, (p + 1) * kvDim),
          c.kvHeads,
          c.headDim,
          -discard,
          c.ropeTheta,
        );
      }
    }
  }

  reset(): void {
    // Attention reads only positions 0..pos, so stale entries are harmless; zero them anyway
    // so a reset model is indistinguishable from a fresh one.
    for (const cache of this.state.keyCache) cache.fill(0);
    for (const cache of this.state.valueCache) cache.fill(0);
  }
}

/**
 * Scalar reference ops: slow, obvious, and the spec. Every fast kernel in
 * wasm-kernels/ is tested against these; the reference forward pass is built from them.
 */

/** out = x / rms(x) * weight. */
export function rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, eps: number) {
  let sumSquares = 0;
  for (let i = 0; i < x.length; i++) sumSquares += x[i] * x[i];
  const inv = 1 / Math.sqrt(sumSquares / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * inv * weight[i];
}

/** Rounds to the nearest integer, ties to even (torch.round, rint, wasm's nearest). */
export function roundHalfToEven(v: number): number {
  const r = Math.round(v); // ties toward +∞
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * BitNet's per-token absmax int8 quantisation: scale = 127 / max|x|,
 * q = clamp(round(x · scale), -128, 127). Returns the scale (x ≈ q / scale).
 * Bit-exact with BitNet (torch and bitnet.cpp): f32 arithmetic, ties to even.
 */
export function quantizeActivations(out: Int8Array, x: Float32Array): number {
  let maxAbs = 0;
  for (let i = 0; i < x.length; i++) maxAbs = Math.max(maxAbs, Math.abs(x[i]));
  // An all-zero vector quantises to zeros; keep the scale finite.
  // f32 operands, so f64 division and product rounded once to f32 are exactly f32 arithmetic.
  const scale = Math.fround(127 / Math.max(maxAbs, Math.fround(1e-5)));
  for (let i = 0; i < x.length; i++) {
    out[i] = Math.min(127, Math.max(-128, roundHalfToEven(Math.fround(x[i] * scale))));
  }
  return scale;
}

/** Integer dots of each ternary row with the int8 activations: exact, the kernels' truth. */
export function ternaryDots(
  out: Int32Array,
  codes: Int8Array,
  rows: number,
  cols: number,
  xq: Int8Array,
) {
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc += codes[base + c] * xq[c];
    out[r] = acc;
  }
}

/** out = (ternary W · x): quantise x, integer dots, then × weight scale / activation scale. */
export function ternaryMatVec(
  out: Float32Array,
  w: { rows: number; cols: number; codes: Int8Array; scale: number },
  x: Float32Array,
) {
  const xq = new Int8Array(w.cols);
  const xScale = quantizeActivations(xq, x);
  const dots = new Int32Array(w.rows);
  ternaryDots(dots, w.codes, w.rows, w.cols, xq);
  for (let r = 0; r < w.rows; r++) out[r] = (dots[r] * w.scale) / xScale;
}

/** out = W · x for a float matrix of rows × cols (the tied output head). */
export function matVec(
  out: Float32Array,
  w: Float32Array,
  rows: number,
  cols: number,
  x: Float32Array,
) {
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc += w[base + c] * x[c];
    out[r] = acc;
  }
}

/**
 * Rotary position embedding, NEOX style (llama.cpp runs `bitnet` this way): within
 * each head, dimension i pairs with i + headDim/2, rotated by pos · theta^(-2i/headDim).
 */
export function rope(x: Float32Array, heads: number, headDim: number, pos: number, theta: number) {
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    const base = h * headDim;
    for (let i = 0; i < half; i++) {
      const angle = pos * theta ** (-(2 * i) / headDim);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const a = x[base + i];
      const b = x[base + i + half];
      x[base + i] = a * cos - b * sin;
      x[base + i + half] = a * sin + b * cos;
    }
  }
}

/** In-place numerically stable softmax over x[0 .. n). */
export function softmax(x: Float32Array, n = x.length) {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) max = Math.max(max, x[i]);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    x[i] = Math.exp(x[i] - max);
    sum += x[i];
  }
  for (let i = 0; i < n; i++) x[i] /= sum;
}

/**
 * Causal grouped-query attention for one query position over positions 0..pos of the
 * cache. Caches are [position][kvHeads × headDim]; query head h reads KV head
 * ⌊h / (heads / kvHeads)⌋.
 */
export function attention(
  out: Float32Array,
  q: Float32Array,
  keyCache: Float32Array,
  valueCache: Float32Array,
  pos: number,
  heads: number,
  kvHeads: number,
  headDim: number,
) {
  const kvDim = kvHeads * headDim;
  const group = heads / kvHeads;
  const scores = new Float32Array(pos + 1);
  const invSqrt = 1 / Math.sqrt(headDim);
  for (let h = 0; h < heads; h++) {
    const qOff = h * headDim;
    const kvOff = Math.floor(h / group) * headDim;
    for (let t = 0; t <= pos; t++) {
      let dot = 0;
      for (let i = 0; i < headDim; i++) dot += q[qOff + i] * keyCache[t * kvDim + kvOff + i];
      scores[t] = dot * invSqrt;
    }
    softmax(scores, pos + 1);
    for (let i = 0; i < headDim; i++) {
      let acc = 0;
      for (let t = 0; t <= pos; t++) acc += scores[t] * valueCache[t * kvDim + kvOff + i];
      out[qOff + i] = acc;
    }
  }
}

/** out = relu(gate)² · up: the 2B4T gated FFN. */
export function relu2Gate(out: Float32Array, gate: Float32Array, up: Float32Array) {
  for (let i = 0; i < out.length; i++) {
    const g = Math.max(gate[i], 0);
    out[i] = g * g * up[i];
  }
}

/** out = silu(gate) · up: llama.cpp's default `bitnet` FFN. */
export function siluGate(out: Float32Array, gate: Float32Array, up: Float32Array) {
  for (let i = 0; i < out.length; i++) out[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
}

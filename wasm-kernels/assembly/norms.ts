// Norms and quantisation: RMSNorm, BitNet absmax int8 activations, and the scaling of
// integer dots back to floats.

import { Lanes } from "./lanes";

class Rounding {
  /** Four f32 lanes × scale in f32, rounded ties-to-even (as torch.round), as four i32 lanes. */
  @inline static quant4(v: v128, s: v128): v128 {
    return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v, s)));
  }
}

// Small per-token ops. They run in f64 like the TypeScript reference, so the values that
// feed the integer kernels (and so the greedy tokens) match it bit for bit where possible.

/**
 * out = x / rms(x) · weight (f32 arrays of n). out may alias x. The sum of squares runs
 * in order, like the reference, so that the result is bit for bit the same.
 */
export function rms_norm(out: usize, x: usize, weight: usize, n: i32, eps: f64): void {
  let ss: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(x + ((<usize>i) << 2));
    ss += v * v;
  }
  const inv = 1 / Math.sqrt(ss / <f64>n + eps);
  const inv2 = f64x2.splat(inv);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    const xv = v128.load(x + o);
    const wv = v128.load(weight + o);
    const lo = f64x2.mul(f64x2.mul(Lanes.lo64(xv), inv2), Lanes.lo64(wv));
    const hi = f64x2.mul(f64x2.mul(Lanes.hi64(xv), inv2), Lanes.hi64(wv));
    v128.store(out + o, Lanes.join32(lo, hi));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, <f32>(<f64>load<f32>(x + o) * inv * <f64>load<f32>(weight + o)));
  }
}

/**
 * BitNet per-token absmax quantisation of n f32 values to int8 (zero-padded up to
 * padTo). Writes Σ q as i32 at sumOut and returns the scale (x ≈ q / scale). f32
 * arithmetic and ties to even, as BitNet and the reference; the saturating narrows clamp.
 */
export function quantize(out: usize, x: usize, n: i32, padTo: i32, sumOut: usize): f64 {
  let m4 = f32x4.splat(0);
  let i = 0;
  // pmax is one instruction (maxps); max's NaN and −0 rules cost several, and |x| has neither
  for (; i + 4 <= n; i += 4) m4 = f32x4.pmax(m4, f32x4.abs(v128.load(x + ((<usize>i) << 2))));
  let maxAbs: f32 = max(
    max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)),
    max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)),
  );
  for (; i < n; i++) maxAbs = max(maxAbs, abs(load<f32>(x + ((<usize>i) << 2))));
  const scale: f32 = <f32>127 / max(maxAbs, <f32>1e-5);
  const s = f32x4.splat(scale);
  let sum4 = i32x4.splat(0);
  i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + ((<usize>i) << 2);
    const q0 = Rounding.quant4(v128.load(p), s);
    const q1 = Rounding.quant4(v128.load(p, 16), s);
    const q2 = Rounding.quant4(v128.load(p, 32), s);
    const q3 = Rounding.quant4(v128.load(p, 48), s);
    sum4 = i32x4.add(sum4, i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)));
    v128.store(
      out + <usize>i,
      i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)),
    );
  }
  let sum: i32 = Lanes.hsum(sum4);
  for (; i < n; i++) {
    const q = <i32>(
      min<f32>(127, max<f32>(-128, nearest<f32>(load<f32>(x + ((<usize>i) << 2)) * scale)))
    );
    store<i8>(out + <usize>i, <i8>q);
    sum += q;
  }
  for (let j = n; j < padTo; j++) store<i8>(out + <usize>j, 0);
  store<i32>(sumOut, sum);
  return scale;
}

/** head_i8's activation forms of n int8 values x: n i16, then n |x| bytes, n sign masks. */
export function prep_head_i8(out: usize, x: usize, n: i32): void {
  const abs = out + ((<usize>n) << 1);
  const sign = abs + <usize>n;
  for (let i = 0; i < n; i++) {
    const v = <i32>load<i8>(x + <usize>i);
    store<i16>(out + ((<usize>i) << 1), <i16>v);
    store<u8>(abs + <usize>i, <u8>(v < 0 ? -v : v));
    store<u8>(sign + <usize>i, v < 0 ? 0xff : 0);
  }
}

/**
 * For tokens [tokenBegin, tokenEnd) (the pool splits prefill batches by token): normOut_t =
 * rms_norm(x_t) (n f32; may alias x), then its int8 quantisation into xq + t·xqStride
 * (zero-padded to xqStride), Σq into xSums[t] (i32) and the scale into xScales[t] (f64).
 * x and normOut hold the tokens n floats apart.
 */
export function norm_quantize(
  tokenBegin: i32,
  tokenEnd: i32,
  x: usize,
  normOut: usize,
  weight: usize,
  n: i32,
  eps: f64,
  xq: usize,
  xqStride: i32,
  xSums: usize,
  xScales: usize,
): void {
  for (let t = tokenBegin; t < tokenEnd; t++) {
    const o = (<usize>(t * n)) << 2;
    rms_norm(normOut + o, x + o, weight, n, eps);
    const at = <usize>t;
    const scale = quantize(xq + at * <usize>xqStride, normOut + o, n, xqStride, xSums + (at << 2));
    store<f64>(xScales + (at << 3), scale);
  }
}

/**
 * scale_dots for tokens [tokenBegin, tokenEnd): out + t·n ← dots + t·dotsStride (n
 * values each, dotsStride in elements), with the token's activation scale xScales[t].
 */
export function scale_dots_tokens(
  tokenBegin: i32,
  tokenEnd: i32,
  out: usize,
  dots: usize,
  dotsStride: i32,
  n: i32,
  wScale: f64,
  xScales: usize,
): void {
  for (let t = tokenBegin; t < tokenEnd; t++) {
    const xScale = load<f64>(xScales + ((<usize>t) << 3));
    scale_dots(
      out + ((<usize>(t * n)) << 2),
      dots + ((<usize>(t * dotsStride)) << 2),
      n,
      wScale,
      xScale,
    );
  }
}

/** out[i] = f32(dots[i] · wScale / xScale): the reference's scaling, in f64. */
export function scale_dots(out: usize, dots: usize, n: i32, wScale: f64, xScale: f64): void {
  const w2 = f64x2.splat(wScale);
  const x2 = f64x2.splat(xScale);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = v128.load(dots + ((<usize>i) << 2));
    const lo = f32x4.demote_f64x2_zero(f64x2.div(f64x2.mul(f64x2.convert_low_i32x4_s(d), w2), x2));
    const hi = f32x4.demote_f64x2_zero(
      f64x2.div(f64x2.mul(f64x2.convert_low_i32x4_s(i64x2.shuffle(d, d, 1, 0)), w2), x2),
    );
    v128.store(out + ((<usize>i) << 2), i64x2.shuffle(lo, hi, 0, 2));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, <f32>((<f64>load<i32>(dots + o) * wScale) / xScale));
  }
}

// Output head (tied embeddings): logits[r] = Σ head[r][c] · x[c], in f32, f16 or int8.

import { Lanes } from "./lanes";

class Halves {
  /**
   * Eight f16 values (raw bits) as two f32x4 scaled by 2^-112, exactly: the high half of
   * each f32 is (h >> 3 arithmetic) & 0x8fff (sign, three zero bits, the 5-bit exponent,
   * the top 7 mantissa bits), the low half h << 13 (the last 3 mantissa bits); two
   * interleaves put them together (subnormals come out right). The 2^112 that re-biases
   * the exponent is folded into x by prep_head_f16 instead of a multiply per weight.
   * Infinities and NaNs are not handled (weights have none).
   * (One op fewer per 8 than sign-extending to i32 first: 10–10.5 vs 8.7 G MAC/s, Chromium.)
   */
  @inline static halvesLo(h: v128): v128 {
    const hi = v128.and(i16x8.shr_s(h, 3), i16x8.splat(<i16>0x8fff));
    return i16x8.shuffle(i16x8.shl(h, 13), hi, 0, 8, 1, 9, 2, 10, 3, 11);
  }

  @inline static halvesHi(h: v128): v128 {
    const hi = v128.and(i16x8.shr_s(h, 3), i16x8.splat(<i16>0x8fff));
    return i16x8.shuffle(i16x8.shl(h, 13), hi, 4, 12, 5, 13, 6, 14, 7, 15);
  }
}

// Output head (tied embeddings): logits[r] = Σ head[r][c] · x[c]

/** f32 head rows [rowBegin, rowEnd); cols a multiple of 16. */
export function head_f32(
  rowBegin: i32,
  rowEnd: i32,
  w: usize,
  cols: i32,
  x: usize,
  out: usize,
): void {
  const rowBytes = (<usize>cols) << 2;
  for (let r = rowBegin; r < rowEnd; r++) {
    const wr = w + <usize>r * rowBytes;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    for (let c: usize = 0; c < rowBytes; c += 32) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load(wr + c), v128.load(x + c)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(wr + c, 16), v128.load(x + c, 16)));
    }
    const a = f32x4.add(a0, a1);
    store<f32>(
      out + ((<usize>r) << 2),
      f32x4.extract_lane(a, 0) +
        f32x4.extract_lane(a, 1) +
        (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3)),
    );
  }
}

/**
 * head_f16's input: out = x · 2^k (n f32), k = 112 unless some |x| ≥ 2^15 (then smaller,
 * so that nothing overflows). Returns 2^(112 − k), the factor head_f16 applies to each
 * sum. Since x·2^k times w·2^-112 is x·w·2^(k−112), a power of two, each product rounds
 * exactly as x·w does: the logits are those of plain f32 arithmetic.
 */
export function prep_head_f16(out: usize, x: usize, n: i32): f64 {
  let maxAbs: f32 = 0;
  for (let i = 0; i < n; i++) maxAbs = max(maxAbs, abs(load<f32>(x + ((<usize>i) << 2))));
  let k = 112;
  // biome-ignore lint/style/useExponentiationOperator: in AssemblyScript 2 ** k is an integer power (k is i32)
  while (k > 0 && <f64>maxAbs * Math.pow(2, k) >= 1.0e38) k--;
  // biome-ignore lint/style/useExponentiationOperator: in AssemblyScript 2 ** k is an integer power (k is i32)
  const scale = <f32>Math.pow(2, k);
  for (let i = 0; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, load<f32>(x + o) * scale);
  }
  // biome-ignore lint/style/useExponentiationOperator: in AssemblyScript 2 ** k is an integer power (k is i32)
  return Math.pow(2, 112 - k);
}

/**
 * f16 head (raw IEEE half bits), exact weights, f32 arithmetic; cols a multiple of 16.
 * x comes from prep_head_f16, and outScale is what it returned. (12.5 vs 10.6 G MAC/s in
 * Chromium for a multiply per weight instead of the folded 2^112; two or four rows per
 * pass sharing the x loads measured 5 and 7.)
 */
export function head_f16(
  rowBegin: i32,
  rowEnd: i32,
  w: usize,
  cols: i32,
  x: usize,
  outScale: f64,
  out: usize,
): void {
  const rowBytes = (<usize>cols) << 1;
  const back = <f32>outScale;
  for (let r = rowBegin; r < rowEnd; r++) {
    const wr = w + <usize>r * rowBytes;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let xp = x;
    for (let c: usize = 0; c < rowBytes; c += 32) {
      const h0 = v128.load(wr + c);
      const h1 = v128.load(wr + c, 16);
      const f0 = Halves.halvesLo(h0);
      const f1 = Halves.halvesHi(h0);
      const f2 = Halves.halvesLo(h1);
      const f3 = Halves.halvesHi(h1);
      if (ASC_FEATURE_RELAXED_SIMD) {
        a0 = f32x4.relaxed_madd(f0, v128.load(xp), a0);
        a1 = f32x4.relaxed_madd(f1, v128.load(xp, 16), a1);
        a2 = f32x4.relaxed_madd(f2, v128.load(xp, 32), a2);
        a3 = f32x4.relaxed_madd(f3, v128.load(xp, 48), a3);
      } else {
        a0 = f32x4.add(a0, f32x4.mul(f0, v128.load(xp)));
        a1 = f32x4.add(a1, f32x4.mul(f1, v128.load(xp, 16)));
        a2 = f32x4.add(a2, f32x4.mul(f2, v128.load(xp, 32)));
        a3 = f32x4.add(a3, f32x4.mul(f3, v128.load(xp, 48)));
      }
      xp += 64;
    }
    const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    const sum =
      f32x4.extract_lane(a, 0) +
      f32x4.extract_lane(a, 1) +
      (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
    store<f32>(out + ((<usize>r) << 2), sum * back);
  }
}

/**
 * int8 head: rows of int8 weights in [−127, 127] with one f32 scale per row (rowScales);
 * activations quantised per token to int8 and prepared by prep_head_i8 (xPrep: cols i16
 * values, then cols |x| bytes, then cols sign masks); xScale as in quantize.
 * logits[r] = dot · rowScale[r] / xScale. cols a multiple of 16.
 * Relaxed SIMD multiplies w·sign(x) by |x| (which fits the i7 operand) in one
 * instruction: 26 vs 24 G MAC/s in Chromium for the widen-to-i16 path SIMD128 uses.
 */
export function head_i8(
  rowBegin: i32,
  rowEnd: i32,
  w: usize,
  cols: i32,
  rowScales: usize,
  xPrep: usize,
  xScale: f64,
  out: usize,
): void {
  const c16 = <usize>cols;
  const xAbs = xPrep + (c16 << 1);
  const xSign = xAbs + c16;
  for (let r = rowBegin; r < rowEnd; r++) {
    const wr = w + <usize>r * c16;
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    if (ASC_FEATURE_RELAXED_SIMD) {
      for (let c: usize = 0; c < c16; c += 32) {
        const s0 = v128.load(xSign + c);
        const s1 = v128.load(xSign + c, 16);
        const w0 = i8x16.sub(v128.xor(v128.load(wr + c), s0), s0);
        const w1 = i8x16.sub(v128.xor(v128.load(wr + c, 16), s1), s1);
        // pair sums |·| ≤ 2 · 127 · 127 fit i16
        const p0 = i16x8.relaxed_dot_i8x16_i7x16_s(w0, v128.load(xAbs + c));
        const p1 = i16x8.relaxed_dot_i8x16_i7x16_s(w1, v128.load(xAbs + c, 16));
        a0 = i32x4.add(a0, i32x4.extadd_pairwise_i16x8_s(p0));
        a1 = i32x4.add(a1, i32x4.extadd_pairwise_i16x8_s(p1));
      }
    } else {
      let xp = xPrep;
      for (let c: usize = 0; c < c16; c += 16) {
        const v = v128.load(wr + c);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load(xp)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), v128.load(xp, 16)));
        xp += 32;
      }
    }
    const d = Lanes.hsum(i32x4.add(a0, a1));
    store<f32>(
      out + ((<usize>r) << 2),
      <f32>((<f64>d * <f64>load<f32>(rowScales + ((<usize>r) << 2))) / xScale),
    );
  }
}

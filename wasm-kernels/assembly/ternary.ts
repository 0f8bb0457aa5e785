// Ternary matvec (decode) and matmul (prefill): integer dots of int8 activations with
// 2-bit weight codes in the layout kernels.ts describes.

import { Lanes } from "./lanes";
import { LaneDots } from "./ternary-lanes";
import { MaddDots } from "./ternary-madd";
import { PAIRS_SLOT_BYTES, PairDots } from "./ternary-pairs";

class TernaryDots {
  // Codes of columns +32n of a half-block. i16 shifts are native on x86 (i8 shifts are
  // emulated); the mask drops the bits that cross from the neighbouring byte.
  @inline static codes(p: v128, n: i32): v128 {
    const m = i8x16.splat(3);
    return n === 3 ? v128.and(p, m) : v128.and(i16x8.shr_u(p, 6 - 2 * n), m);
  }

  /**
   * 16 int8 activations × 16 codes (0..2), summed in pairs into 8 i16 lanes (|·| ≤ 512).
   * Relaxed SIMD does it in one instruction (x86 pmaddubsw): codes fit the i7 operand.
   */
  @inline static mul16(x: v128, c: v128): v128 {
    if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(x, c);
    return i16x8.add(i16x8.extmul_low_i8x16_s(x, c), i16x8.extmul_high_i8x16_s(x, c));
  }

  /** acc (i16 lanes) + products of a half-block with x[xo + 32n + 0..16), n = 0..3. */
  @inline static half(p: v128, xo: usize, acc: v128): v128 {
    acc = i16x8.add(acc, TernaryDots.mul16(v128.load(xo), TernaryDots.codes(p, 0)));
    acc = i16x8.add(acc, TernaryDots.mul16(v128.load(xo, 32), TernaryDots.codes(p, 1)));
    acc = i16x8.add(acc, TernaryDots.mul16(v128.load(xo, 64), TernaryDots.codes(p, 2)));
    return i16x8.add(acc, TernaryDots.mul16(v128.load(xo, 96), TernaryDots.codes(p, 3)));
  }

  /** dot(x, code) for the row starting at w (blocks of 128 columns, BLOCK_STEP apart). */
  @inline static dot1(w: usize, x: usize, blocks: i32): i32 {
    let s = i32x4.splat(0);
    for (let start = 0; start < blocks; start += FLUSH_BLOCKS) {
      const end = min(start + FLUSH_BLOCKS, blocks);
      let a = i16x8.splat(0);
      for (let b = start; b < end; b++) {
        const wp = w + <usize>b * BLOCK_STEP;
        const xo = x + ((<usize>b) << 7);
        a = TernaryDots.half(v128.load(wp), xo, a);
        a = TernaryDots.half(v128.load(wp, 16), xo + 16, a);
      }
      s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_s(a));
    }
    return Lanes.hsum(s);
  }

  /** dot(x, code) for the four rows of the group at g (activation loads shared); out[0..4). */
  @inline static dot4(g: usize, x: usize, blocks: i32, out: usize): void {
    let s0 = i32x4.splat(0);
    let s1 = i32x4.splat(0);
    let s2 = i32x4.splat(0);
    let s3 = i32x4.splat(0);
    for (let start = 0; start < blocks; start += FLUSH_BLOCKS) {
      const end = min(start + FLUSH_BLOCKS, blocks);
      let a0 = i16x8.splat(0);
      let a1 = i16x8.splat(0);
      let a2 = i16x8.splat(0);
      let a3 = i16x8.splat(0);
      for (let b = start; b < end; b++) {
        const wp = g + <usize>b * BLOCK_STEP;
        const xo = x + ((<usize>b) << 7);
        a0 = TernaryDots.half(v128.load(wp), xo, a0);
        a1 = TernaryDots.half(v128.load(wp, 32), xo, a1);
        a2 = TernaryDots.half(v128.load(wp, 64), xo, a2);
        a3 = TernaryDots.half(v128.load(wp, 96), xo, a3);
        a0 = TernaryDots.half(v128.load(wp, 16), xo + 16, a0);
        a1 = TernaryDots.half(v128.load(wp, 48), xo + 16, a1);
        a2 = TernaryDots.half(v128.load(wp, 80), xo + 16, a2);
        a3 = TernaryDots.half(v128.load(wp, 112), xo + 16, a3);
      }
      s0 = i32x4.add(s0, i32x4.extadd_pairwise_i16x8_s(a0));
      s1 = i32x4.add(s1, i32x4.extadd_pairwise_i16x8_s(a1));
      s2 = i32x4.add(s2, i32x4.extadd_pairwise_i16x8_s(a2));
      s3 = i32x4.add(s3, i32x4.extadd_pairwise_i16x8_s(a3));
    }
    store<i32>(out, Lanes.hsum(s0));
    store<i32>(out, Lanes.hsum(s1), 4);
    store<i32>(out, Lanes.hsum(s2), 8);
    store<i32>(out, Lanes.hsum(s3), 12);
  }

  /**
   * dot(x_t, code) of one row for four tokens at once (the weight decode is shared);
   * writes the sums to out, out + os, out + 2·os, out + 3·os.
   */
  @inline static dotTokens4(
    w: usize,
    x0: usize,
    xs: usize,
    blocks: i32,
    out: usize,
    os: usize,
  ): void {
    const x1 = x0 + xs;
    const x2 = x1 + xs;
    const x3 = x2 + xs;
    let s0 = i32x4.splat(0);
    let s1 = i32x4.splat(0);
    let s2 = i32x4.splat(0);
    let s3 = i32x4.splat(0);
    for (let start = 0; start < blocks; start += FLUSH_BLOCKS) {
      const end = min(start + FLUSH_BLOCKS, blocks);
      let a0 = i16x8.splat(0);
      let a1 = i16x8.splat(0);
      let a2 = i16x8.splat(0);
      let a3 = i16x8.splat(0);
      for (let b = start; b < end; b++) {
        const wp = w + <usize>b * BLOCK_STEP;
        const xo = (<usize>b) << 7;
        // unrolled by hand: the shifts must be constants to compile to one instruction
        const p0 = v128.load(wp);
        const p1 = v128.load(wp, 16);
        let c = TernaryDots.codes(p0, 0);
        a0 = i16x8.add(a0, TernaryDots.mul16(v128.load(x0 + xo), c));
        a1 = i16x8.add(a1, TernaryDots.mul16(v128.load(x1 + xo), c));
        a2 = i16x8.add(a2, TernaryDots.mul16(v128.load(x2 + xo), c));
        a3 = i16x8.add(a3, TernaryDots.mul16(v128.load(x3 + xo), c));
        c = TernaryDots.codes(p0, 1);
        a0 = i16x8.add(a0, TernaryDots.mul16(v128.load(x0 + xo, 32), c));
        a1 = i16x8.add(a1, TernaryDots.mul16(v128.load(x1 + xo, 32), c));
        a2 = i16x8.add(a2, TernaryDots.mul16(v128.load(x2 + xo, 32), c));
        a3 = i16x8.add(a3, TernaryDots.mul16(v128.load(x3 + xo, 32), c));
        c = TernaryDots.codes(p0, 2);
        a0 = i16x8.add(a0, TernaryDots.mul16(v128.load(x0 + xo, 64), c));
        a1 = i16x8.add(a1, TernaryDots.mul16(v128.load(x1 + xo, 64), c));
        a2 = i16x8.add(a2, TernaryDots.mul16(v128.load(x2 + xo, 64), c));
        a3 = i16x8.add(a3, TernaryDots.mul16(v128.load(x3 + xo, 64), c));
        c = TernaryDots.codes(p0, 3);
        a0 = i16x8.add(a0, TernaryDots.mul16(v128.load(x0 + xo, 96), c));
        a1 = i16x8.add(a1, TernaryDots.mul16(v128.load(x1 + xo, 96), c));
        a2 = i16x8.add(a2, TernaryDots.mul16(v128.load(x2 + xo, 96), c));
        a3 = i16x8.add(a3, TernaryDots.mul16(v128.load(x3 + xo, 96), c));
        c = TernaryDots.codes(p1, 0);
        a0 = i16x8.add(a0, TernaryDots.mul16(v128.load(x0 + xo, 16), c));
        a1 = i16x8.add(a1, TernaryDots.mul16(v128.load(x1 + xo, 16), c));
        a2 = i16x8.add(a2, TernaryDots.mul16(v128.load(x2 + xo, 16), c));
        a3 = i16x8.add(a3, TernaryDots.mul16(v128.load(x3 + xo, 16), c));
        c = TernaryDots.codes(p1, 1);
        a0 = i16x8.add(a0, TernaryDots.mul16(v128.load(x0 + xo, 48), c));
        a1 = i16x8.add(a1, TernaryDots.mul16(v128.load(x1 + xo, 48), c));
        a2 = i16x8.add(a2, TernaryDots.mul16(v128.load(x2 + xo, 48), c));
        a3 = i16x8.add(a3, TernaryDots.mul16(v128.load(x3 + xo, 48), c));
        c = TernaryDots.codes(p1, 2);
        a0 = i16x8.add(a0, TernaryDots.mul16(v128.load(x0 + xo, 80), c));
        a1 = i16x8.add(a1, TernaryDots.mul16(v128.load(x1 + xo, 80), c));
        a2 = i16x8.add(a2, TernaryDots.mul16(v128.load(x2 + xo, 80), c));
        a3 = i16x8.add(a3, TernaryDots.mul16(v128.load(x3 + xo, 80), c));
        c = TernaryDots.codes(p1, 3);
        a0 = i16x8.add(a0, TernaryDots.mul16(v128.load(x0 + xo, 112), c));
        a1 = i16x8.add(a1, TernaryDots.mul16(v128.load(x1 + xo, 112), c));
        a2 = i16x8.add(a2, TernaryDots.mul16(v128.load(x2 + xo, 112), c));
        a3 = i16x8.add(a3, TernaryDots.mul16(v128.load(x3 + xo, 112), c));
      }
      s0 = i32x4.add(s0, i32x4.extadd_pairwise_i16x8_s(a0));
      s1 = i32x4.add(s1, i32x4.extadd_pairwise_i16x8_s(a1));
      s2 = i32x4.add(s2, i32x4.extadd_pairwise_i16x8_s(a2));
      s3 = i32x4.add(s3, i32x4.extadd_pairwise_i16x8_s(a3));
    }
    store<i32>(out, Lanes.hsum(s0));
    store<i32>(out + os, Lanes.hsum(s1));
    store<i32>(out + 2 * os, Lanes.hsum(s2));
    store<i32>(out + 3 * os, Lanes.hsum(s3));
  }

  /** acc (i32 lanes) + products of a half-block with x[xo + 32n + 0..16), n = 0..3. */
  @inline static halfAdd(p: v128, xo: usize, acc: v128): v128 {
    if (!ASC_FEATURE_RELAXED_SIMD) return acc;
    acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo), TernaryDots.codes(p, 0), acc);
    acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo, 32), TernaryDots.codes(p, 1), acc);
    acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo, 64), TernaryDots.codes(p, 2), acc);
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo, 96), TernaryDots.codes(p, 3), acc);
  }

  /** dot4 with dot-add: two accumulators per row (one per half-block) to overlap latency. */
  @inline static dot4Add(g: usize, x: usize, blocks: i32, out: usize): void {
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    let b0 = i32x4.splat(0);
    let b1 = i32x4.splat(0);
    let b2 = i32x4.splat(0);
    let b3 = i32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const wp = g + <usize>b * BLOCK_STEP;
      const xo = x + ((<usize>b) << 7);
      a0 = TernaryDots.halfAdd(v128.load(wp), xo, a0);
      a1 = TernaryDots.halfAdd(v128.load(wp, 32), xo, a1);
      a2 = TernaryDots.halfAdd(v128.load(wp, 64), xo, a2);
      a3 = TernaryDots.halfAdd(v128.load(wp, 96), xo, a3);
      b0 = TernaryDots.halfAdd(v128.load(wp, 16), xo + 16, b0);
      b1 = TernaryDots.halfAdd(v128.load(wp, 48), xo + 16, b1);
      b2 = TernaryDots.halfAdd(v128.load(wp, 80), xo + 16, b2);
      b3 = TernaryDots.halfAdd(v128.load(wp, 112), xo + 16, b3);
    }
    store<i32>(out, Lanes.hsum(i32x4.add(a0, b0)));
    store<i32>(out, Lanes.hsum(i32x4.add(a1, b1)), 4);
    store<i32>(out, Lanes.hsum(i32x4.add(a2, b2)), 8);
    store<i32>(out, Lanes.hsum(i32x4.add(a3, b3)), 12);
  }

  /**
   * Prefill with dot-add: two rows (w, w + 32) × four tokens per pass, each code vector
   * used four times and each activation load twice; writes out + j·4 + t·os (j = row).
   * The n loop stays a loop (shift by a variable count): unrolled by hand it measured 61
   * against 99 G MAC/s.
   */
  @inline static dotRows2Tokens4Add(
    w: usize,
    x0: usize,
    xs: usize,
    blocks: i32,
    out: usize,
    os: usize,
  ): void {
    if (!ASC_FEATURE_RELAXED_SIMD) return;
    const x1 = x0 + xs;
    const x2 = x1 + xs;
    const x3 = x2 + xs;
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    let b0 = i32x4.splat(0);
    let b1 = i32x4.splat(0);
    let b2 = i32x4.splat(0);
    let b3 = i32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const wp = w + <usize>b * BLOCK_STEP;
      const xb = (<usize>b) << 7;
      for (let h: usize = 0; h < 32; h += 16) {
        const p = v128.load(wp + h);
        const q = v128.load(wp + h, 32);
        for (let n = 0; n < 4; n++) {
          const c = TernaryDots.codes(p, n);
          const e = TernaryDots.codes(q, n);
          const xo = xb + h + ((<usize>n) << 5);
          let v = v128.load(x0 + xo);
          a0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, c, a0);
          b0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, e, b0);
          v = v128.load(x1 + xo);
          a1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, c, a1);
          b1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, e, b1);
          v = v128.load(x2 + xo);
          a2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, c, a2);
          b2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, e, b2);
          v = v128.load(x3 + xo);
          a3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, c, a3);
          b3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v, e, b3);
        }
      }
    }
    store<i32>(out, Lanes.hsum(a0));
    store<i32>(out + os, Lanes.hsum(a1));
    store<i32>(out + 2 * os, Lanes.hsum(a2));
    store<i32>(out + 3 * os, Lanes.hsum(a3));
    store<i32>(out, Lanes.hsum(b0), 4);
    store<i32>(out + os, Lanes.hsum(b1), 4);
    store<i32>(out + 2 * os, Lanes.hsum(b2), 4);
    store<i32>(out + 3 * os, Lanes.hsum(b3), 4);
  }
}

// Ternary row dots

// Products are summed in i16 lanes: a block adds 8 pair sums of |·| ≤ 512 to each lane,
// so 7 blocks (28672) stay below 2^15 before widening to i32.
const FLUSH_BLOCKS = 7;

/** Bytes from one block of a row to its next: four rows' blocks interleave. */
const BLOCK_STEP: usize = 128;

// Ternary kernel forms (the kernels' `form` argument; the engine times the exact ones
// at load and keeps the fastest, src/engine/kernels/wasm-module.ts):
// form 0 (any other value): i16 pair sums, relaxed SIMD's i16x8.relaxed_dot_i8x16_i7x16_s
// or extmul in SIMD128 (TernaryDots);
/** Relaxed SIMD's i32 dot-add (relaxed build only; SIMD128 computes form 0). */
const FORM_DOT_ADD = 1;
/** The i16 multiply-add (MaddDots), both builds. */
const FORM_MADD = 2;
/** Prefill only: two rows per i16 lane, unpacked once per block for all tokens (PairDots). */
const FORM_PAIRS = 3;
/**
 * Fewer tokens than this take the multiply-add form instead of the row pairs: the
 * unpacking, paid once per block, costs about as much as the products of two tokens.
 */
const PAIRS_MIN_TOKENS = 4;
/**
 * Two rows per i16 lane from the lane-pair layout (LaneDots), decode and prefill: the
 * weights must be in that layout (ternary_lane_layout), and ternary_dots reads its
 * activations as ternary_lane_inputs writes them.
 */
const FORM_LANES = 4;

// Relaxed SIMD's i32x4.relaxed_dot_i8x16_i7x16_add_s multiplies, sums in fours and
// accumulates in one operation (made to map onto x86 AVX-VNNI's vpdpbusd): no i16 sums
// to add and widen.
// The engine uses it only where it computes exactly (Node 20's baseline compiler drops
// the accumulator): the kernels take `form` from src/engine/kernels/wasm-module.ts's probe.

/**
 * Exact integer dots of rows [rowBegin, rowEnd) (multiples of 4) of a packed ternary
 * matrix with int8 activations xq (zero-padded to blocks × 128): out[r] = Σ w[r][c]·xq[c].
 * `stride` is the packed row length in bytes (blocks × 32); xSum is Σ xq. form: one of
 * FORM_* (the dot-add form is computed as form 0 by the SIMD128 build). The lane-pair
 * form reads xq as ternary_lane_inputs made it (and no xSum), exact for activations in
 * [−127, 127] (quantize's).
 */
export function ternary_dots(
  rowBegin: i32,
  rowEnd: i32,
  w: usize,
  stride: i32,
  xq: usize,
  xSum: i32,
  out: usize,
  form: i32,
): void {
  const blocks = stride >> 5;
  const s = <usize>stride;
  if (form === FORM_LANES) {
    const m = i16x8.splat(<i16>0xc003);
    for (let r = rowBegin; r < rowEnd; r += 4) {
      LaneDots.dots4(w + <usize>r * s, xq, blocks, m, out + ((<usize>r) << 2));
    }
    return;
  }
  const useDotAdd = ASC_FEATURE_RELAXED_SIMD && form === FORM_DOT_ADD;
  for (let r = rowBegin; r < rowEnd; r += 4) {
    const o = out + ((<usize>r) << 2);
    if (useDotAdd) TernaryDots.dot4Add(w + <usize>r * s, xq, blocks, o);
    else if (form === FORM_MADD) MaddDots.dot4(w + <usize>r * s, xq, blocks, o);
    else TernaryDots.dot4(w + <usize>r * s, xq, blocks, o);
    store<i32>(o, load<i32>(o) - xSum);
    store<i32>(o, load<i32>(o, 4) - xSum, 4);
    store<i32>(o, load<i32>(o, 8) - xSum, 8);
    store<i32>(o, load<i32>(o, 12) - xSum, 12);
  }
}

/**
 * Prefill: integer dots of rows [rowBegin, rowEnd) (multiples of 4) for `tokens`
 * activation vectors, each row's codes decoded once per group of four tokens (with
 * dot-add: two rows per pass). xq holds the tokens one after another, `xStride` bytes
 * apart; xSums holds one i32 per token. Writes out[t · outStride + r]. `scratch`: the
 * row-pair form's unpacked weights, PAIRS_SLOT_BYTES / 4 bytes per row of the matrix
 * (each range of rows uses the slot at its first row, so ranges never share one). The
 * row-pair form is exact for activations in [−127, 127] (quantize's; see PairDots).
 */
export function ternary_dots_batch(
  rowBegin: i32,
  rowEnd: i32,
  w: usize,
  stride: i32,
  xq: usize,
  xStride: i32,
  xSums: usize,
  tokens: i32,
  out: usize,
  outStride: i32,
  form: i32,
  scratch: usize,
): void {
  const blocks = stride >> 5;
  const xs = <usize>xStride;
  const os = (<usize>outStride) << 2;
  const s = <usize>stride;
  if (form === FORM_LANES) {
    // the row pairs' prefill, unpacking from the lane-pair layout: sums of x·w, no xSums
    const slot = scratch + <usize>rowBegin * (PAIRS_SLOT_BYTES >> 2);
    let r = rowBegin;
    for (; r + 8 <= rowEnd; r += 8) {
      const o = out + ((<usize>r) << 2);
      PairDots.groups2Tokens(true, w + <usize>r * s, 4 * s, blocks, xq, xs, tokens, o, os, slot);
    }
    if (r < rowEnd) {
      const o = out + ((<usize>r) << 2);
      PairDots.group1Tokens(true, w + <usize>r * s, blocks, xq, xs, tokens, o, os, slot);
    }
    return;
  }
  if (form === FORM_PAIRS && tokens < PAIRS_MIN_TOKENS) form = FORM_MADD;
  if (form === FORM_PAIRS) {
    // sums of x·w (the codes' offset is taken off while unpacking): no xSums
    const slot = scratch + <usize>rowBegin * (PAIRS_SLOT_BYTES >> 2);
    for (; rowBegin + 8 <= rowEnd; rowBegin += 8) {
      const o = out + ((<usize>rowBegin) << 2);
      PairDots.groups2Tokens(
        false,
        w + <usize>rowBegin * s,
        4 * s,
        blocks,
        xq,
        xs,
        tokens,
        o,
        os,
        slot,
      );
    }
    // a last group of four rows: the multiply-add form, below
    form = FORM_MADD;
  }
  // Tokens in fours outermost: their activations stay in L1 while the chunk's rows
  // stream from L2 (rows outermost re-read all tokens' activations for every group).
  let t = 0;
  for (; t + 4 <= tokens; t += 4) {
    const x = xq + <usize>t * xs;
    for (let r = rowBegin; r < rowEnd; r += 4) {
      const g = w + <usize>r * s;
      const o = out + ((<usize>r) << 2) + <usize>t * os;
      if (ASC_FEATURE_RELAXED_SIMD && form === FORM_DOT_ADD) {
        TernaryDots.dotRows2Tokens4Add(g, x, xs, blocks, o, os);
        TernaryDots.dotRows2Tokens4Add(g + 64, x, xs, blocks, o + 8, os);
      } else if (form === FORM_MADD) {
        MaddDots.dotRows2Tokens4(g, x, xs, blocks, o, os);
        MaddDots.dotRows2Tokens4(g + 64, x, xs, blocks, o + 8, os);
      } else {
        for (let j: usize = 0; j < 4; j++)
          TernaryDots.dotTokens4(g + (j << 5), x, xs, blocks, o + (j << 2), os);
      }
    }
  }
  for (; t < tokens; t++) {
    const x = xq + <usize>t * xs;
    for (let r = rowBegin; r < rowEnd; r += 4) {
      const g = w + <usize>r * s;
      const o = out + ((<usize>r) << 2) + <usize>t * os;
      for (let j: usize = 0; j < 4; j++)
        store<i32>(o + (j << 2), TernaryDots.dot1(g + (j << 5), x, blocks));
    }
  }
  for (let u = 0; u < tokens; u++) {
    const xSum = load<i32>(xSums + ((<usize>u) << 2));
    const p = out + <usize>u * os;
    for (let r = rowBegin; r < rowEnd; r++) {
      const q = p + ((<usize>r) << 2);
      store<i32>(q, load<i32>(q) - xSum);
    }
  }
}

/**
 * Rewrites rows [rowBegin, rowEnd) (whole groups of four) of a packed matrix from the
 * shipped layout into the lane-pair layout (ternary-lanes.ts), in place. `scratch`: 32
 * bytes per row, as ternary_dots_batch's (each range uses the 128 bytes at its first row).
 */
export function ternary_lane_layout(
  rowBegin: i32,
  rowEnd: i32,
  w: usize,
  stride: i32,
  scratch: usize,
): void {
  const s = <usize>stride;
  const copy = scratch + ((<usize>rowBegin) << 5);
  for (let r = rowBegin; r < rowEnd; r += 4) {
    const g = w + <usize>r * s;
    for (let b: usize = 0; b < s; b += 32) LaneDots.relayBlock(g + (b << 2), copy);
  }
}

/**
 * The lane-pair form's activations (LaneDots.inputs) from int8 xq of `blocks` × 128
 * columns into dst: blocks × 528 bytes.
 */
export function ternary_lane_inputs(xq: usize, blocks: i32, dst: usize): void {
  LaneDots.inputs(xq, blocks, dst);
}

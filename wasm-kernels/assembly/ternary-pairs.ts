// The row-pair form of the prefill dots (the kernels' form 3, ternary.ts): SIMD128's
// fastest exact prefill. Without relaxed SIMD the cheapest exact product is
// i32x4.dot_i16x8_s (x86 pmaddwd: 8 i16 products, summed in pairs), half the width of
// relaxed SIMD's i8 dot; this form gets the width back by putting two rows' weights into
// each i16 lane, so that one instruction does 8 columns of two rows (16 multiply-adds).

import { Lanes } from "./lanes";
import { LaneDots } from "./ternary-lanes";

/** Bytes from one block of a row to its next (the layout in kernels.ts). */
const BLOCK_STEP: usize = 128;

/**
 * Scratch bytes per group of four rows: two unpacked blocks of 2 row pairs × 128
 * columns × i16 (ternary_dots_batch gives each range of rows its own; it runs two
 * groups at a time).
 */
export const PAIRS_SLOT_BYTES: usize = 1024;

/**
 * A group of four rows (two pairs: rows 0 and 1, rows 2 and 3) is unpacked a block at a
 * time into i16 lanes w_a + 2^14·w_b (w = code − 1 in −1..1; w_a of the pair's first
 * row, w_b of its second), then every token of the batch runs over the unpacked blocks:
 * dot_i16x8_s(x, w_a + 2^14·w_b) = Σ x·w_a + 2^14·Σ x·w_b. While the first sum stays
 * within ±8191, sign-extending the low 14 bits of the i32 lane gives it exactly, and the
 * rest divided by 2^14 gives the second. An i32 lane sums 2 products per block quarter
 * (16 per block): over two blocks that is ±8128 for activations in [−127, 127], which is
 * what quantize makes (it scales max|x| to 127, so it never rounds to −128;
 * kernels.test.ts checks both). The unpacking (eight operations per 16 codes) is paid
 * once per block for all tokens.
 */
export class PairDots {
  /**
   * Lanes w_a + 2^14·w_b for 8 columns, from two rows' bytes at a and b (the 8 bytes of
   * a quarter half-block) and field n (bits 6 − 2n of each byte): the second row's field
   * is shifted to bits 14–15 (code·2^14 wraps in i16), and the two −1 offsets are one
   * subtraction of 2^14 + 1.
   */
  @inline static unpack(a: usize, b: usize, n: i32): v128 {
    const ea = v128.load8x8_u(a);
    const eb = v128.load8x8_u(b);
    const lo = v128.and(n === 3 ? ea : i16x8.shr_u(ea, 6 - 2 * n), i16x8.splat(3));
    const hi = v128.and(i16x8.shl(eb, 8 + 2 * n), i16x8.splat(<i16>0xc000));
    return i16x8.sub(i16x8.add(hi, lo), i16x8.splat(0x4001));
  }

  /**
   * Unpacks block b of the group at g into the slot: 16 pieces in column order, piece i
   * (columns 8i..8i + 7) at slot + i·ps, its two pairs 16 bytes apart. Bytes h + k of a
   * row hold columns h + k + 32n (field n), so piece (h + k) / 8 + 4n.
   */
  @inline static unpackBlock(g: usize, slot: usize, ps: usize): void {
    for (let h: usize = 0; h < 32; h += 16) {
      for (let k: usize = 0; k < 16; k += 8) {
        const o = slot + ((h + k) >> 3) * ps;
        const p = g + h + k;
        // unrolled: the shifts must be constants
        v128.store(o, PairDots.unpack(p, p + 32, 0));
        v128.store(o, PairDots.unpack(p + 64, p + 96, 0), 16);
        v128.store(o + 4 * ps, PairDots.unpack(p, p + 32, 1));
        v128.store(o + 4 * ps, PairDots.unpack(p + 64, p + 96, 1), 16);
        v128.store(o + 8 * ps, PairDots.unpack(p, p + 32, 2));
        v128.store(o + 8 * ps, PairDots.unpack(p + 64, p + 96, 2), 16);
        v128.store(o + 12 * ps, PairDots.unpack(p, p + 32, 3));
        v128.store(o + 12 * ps, PairDots.unpack(p + 64, p + 96, 3), 16);
      }
    }
  }

  /**
   * unpackBlock from the shipped layout, or (`lanes`) LaneDots.unpackBlock from the
   * lane-pair layout (ternary-lanes.ts): the same pieces either way.
   */
  @inline static unpackFrom(lanes: bool, g: usize, slot: usize, ps: usize): void {
    if (lanes) LaneDots.unpackBlock(g, slot, ps);
    else PairDots.unpackBlock(g, slot, ps);
  }

  /** Rows [Σa0, Σb0, Σa1, Σb1] from two pairs' i32 accumulators (see the class note). */
  @inline static rows4(t0: v128, t1: v128): v128 {
    const a0 = Lanes.pairLow(t0);
    const b0 = Lanes.pairHigh(t0, a0);
    const a1 = Lanes.pairLow(t1);
    const b1 = Lanes.pairHigh(t1, a1);
    const p = i32x4.add(i32x4.shuffle(a0, b0, 0, 4, 1, 5), i32x4.shuffle(a0, b0, 2, 6, 3, 7));
    const q = i32x4.add(i32x4.shuffle(a1, b1, 0, 4, 1, 5), i32x4.shuffle(a1, b1, 2, 6, 3, 7));
    return i32x4.add(i64x2.shuffle(p, q, 0, 2), i64x2.shuffle(p, q, 1, 3));
  }

  /** out[o..o+32) += the eight rows of four pairs' accumulators. */
  @inline static addRows8(o: usize, t0: v128, t1: v128, t2: v128, t3: v128): void {
    v128.store(o, i32x4.add(v128.load(o), PairDots.rows4(t0, t1)));
    v128.store(o, i32x4.add(v128.load(o, 16), PairDots.rows4(t2, t3)), 16);
  }

  /**
   * Eight rows (two groups, four pairs; the slot's pieces 64 bytes apart) × two tokens
   * (activations xa, xb) over unpacked blocks: each unpacked vector loaded once for both
   * tokens, each activation load used by four pairs. Pieces and activations advance
   * together in column order, so the loop only walks pointers.
   */
  @inline static block8Tokens2(
    slot: usize,
    pieces: usize,
    xa: usize,
    xb: usize,
    oa: usize,
    ob: usize,
  ): void {
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    let b0 = i32x4.splat(0);
    let b1 = i32x4.splat(0);
    let b2 = i32x4.splat(0);
    let b3 = i32x4.splat(0);
    const end = slot + (pieces << 6);
    for (let c = slot; c < end; c += 64, xa += 8, xb += 8) {
      const va = v128.load8x8_s(xa);
      const vb = v128.load8x8_s(xb);
      let w = v128.load(c);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(va, w));
      b0 = i32x4.add(b0, i32x4.dot_i16x8_s(vb, w));
      w = v128.load(c, 16);
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(va, w));
      b1 = i32x4.add(b1, i32x4.dot_i16x8_s(vb, w));
      w = v128.load(c, 32);
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(va, w));
      b2 = i32x4.add(b2, i32x4.dot_i16x8_s(vb, w));
      w = v128.load(c, 48);
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(va, w));
      b3 = i32x4.add(b3, i32x4.dot_i16x8_s(vb, w));
    }
    PairDots.addRows8(oa, a0, a1, a2, a3);
    PairDots.addRows8(ob, b0, b1, b2, b3);
  }

  /** block8Tokens2 for one token (an odd last one). */
  @inline static block8Tokens1(slot: usize, pieces: usize, xa: usize, oa: usize): void {
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    const end = slot + (pieces << 6);
    for (let c = slot; c < end; c += 64, xa += 8) {
      const va = v128.load8x8_s(xa);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(va, v128.load(c)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(va, v128.load(c, 16)));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(va, v128.load(c, 32)));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(va, v128.load(c, 48)));
    }
    PairDots.addRows8(oa, a0, a1, a2, a3);
  }

  /** block8Tokens1 for the four rows of one group (its pieces 32 bytes apart). */
  @inline static block4Tokens1(slot: usize, pieces: usize, xa: usize, oa: usize): void {
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    const end = slot + (pieces << 5);
    for (let c = slot; c < end; c += 32, xa += 8) {
      const va = v128.load8x8_s(xa);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(va, v128.load(c)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(va, v128.load(c, 16)));
    }
    v128.store(oa, i32x4.add(v128.load(oa), PairDots.rows4(a0, a1)));
  }

  /**
   * groups2Tokens for one group of four rows (a range's last): `slot`, PAIRS_SLOT_BYTES
   * of scratch this call owns.
   */
  @inline static group1Tokens(
    lanes: bool,
    g: usize,
    blocks: i32,
    x: usize,
    xs: usize,
    tokens: i32,
    out: usize,
    os: usize,
    slot: usize,
  ): void {
    for (let t = 0; t < tokens; t++) v128.store(out + <usize>t * os, i32x4.splat(0));
    for (let b = 0; b < blocks; b += 2) {
      const wb = g + <usize>b * BLOCK_STEP;
      PairDots.unpackFrom(lanes, wb, slot, 32);
      let pieces: usize = 16;
      if (b + 1 < blocks) {
        PairDots.unpackFrom(lanes, wb + BLOCK_STEP, slot + 512, 32);
        pieces = 32;
      }
      const xb = x + ((<usize>b) << 7);
      for (let t = 0; t < tokens; t++) {
        PairDots.block4Tokens1(slot, pieces, xb + <usize>t * xs, out + <usize>t * os);
      }
    }
  }

  /**
   * The row-pair prefill of eight rows: the group at g and the next one (`groupBytes`
   * on), from the shipped layout or (`lanes`) the lane-pair layout. `slot`:
   * 2 · PAIRS_SLOT_BYTES of scratch this call owns.
   */
  @inline static groups2Tokens(
    lanes: bool,
    g: usize,
    groupBytes: usize,
    blocks: i32,
    x: usize,
    xs: usize,
    tokens: i32,
    out: usize,
    os: usize,
    slot: usize,
  ): void {
    for (let t = 0; t < tokens; t++) {
      v128.store(out + <usize>t * os, i32x4.splat(0));
      v128.store(out + <usize>t * os, i32x4.splat(0), 16);
    }
    // two blocks per unpacking (one when a single one is left): see the class note
    for (let b = 0; b < blocks; b += 2) {
      const wb = g + <usize>b * BLOCK_STEP;
      PairDots.unpackFrom(lanes, wb, slot, 64);
      PairDots.unpackFrom(lanes, wb + groupBytes, slot + 32, 64);
      let pieces: usize = 16;
      if (b + 1 < blocks) {
        PairDots.unpackFrom(lanes, wb + BLOCK_STEP, slot + 1024, 64);
        PairDots.unpackFrom(lanes, wb + BLOCK_STEP + groupBytes, slot + 1056, 64);
        pieces = 32;
      }
      const xb = x + ((<usize>b) << 7);
      let t = 0;
      for (; t + 2 <= tokens; t += 2) {
        const xt = xb + <usize>t * xs;
        const o = out + <usize>t * os;
        PairDots.block8Tokens2(slot, pieces, xt, xt + xs, o, o + os);
      }
      if (t < tokens) PairDots.block8Tokens1(slot, pieces, xb + <usize>t * xs, out + <usize>t * os);
    }
  }
}

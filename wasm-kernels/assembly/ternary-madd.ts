// The i16 multiply-add form of the ternary dots (the kernels' form 2, ternary.ts): the
// fastest exact form without relaxed SIMD (Safari's path), in its own file for size.

import { Lanes } from "./lanes";

/** Bytes from one block of a row to its next (the layout in kernels.ts). */
const BLOCK_STEP: usize = 128;

// The i16 multiply-add form sums 256·code·x products, 16 pair sums ≤ 130048 per block in
// each i32 lane: 256 blocks (32768 columns) stay below 2^31 before dividing by 256.
const MADD_FLUSH_BLOCKS = 256;

/**
 * The i16 multiply-add form (SIMD128's best; no relaxed SIMD needed): i32x4.dot_i16x8_s
 * (x86 pmaddwd, 8 products in one instruction) on i16 lanes of the packed codes, each
 * field cut by a mask alone (no shift per field) and the activation scaled to match, so
 * that every product is 256·code·x: one accumulator per row, divided by 256 at the end
 * (exact: every term is a multiple of 256).
 *
 * An i16 lane l of a half-block holds bytes 2l (columns 2l + 32n, field n at bits
 * 6 − 2n) and 2l + 1 (columns 2l + 1 + 32n, bits 14 − 2n). Even columns: the field
 * masked in place is code·2^(6−2n), times x·2^(2+2n). Odd columns: fields n = 0..2 from
 * the lane shifted right by 6 (bits 8 − 2n), n = 3 in place (bit 8), times x·2^(2n) or x.
 */
export class MaddDots {
  /** The even bytes of v as i16 lanes times 2^e (e = 2..8). */
  @inline static even(v: v128, e: i32): v128 {
    const s = i16x8.shl(v, 8);
    return e === 8 ? s : i16x8.shr_s(s, 8 - e);
  }

  /** The odd bytes of v as i16 lanes times 2^e (e = 0..6). */
  @inline static odd(v: v128, e: i32): v128 {
    if (e === 0) return i16x8.shr_s(v, 8);
    return i16x8.shr_s(v128.and(v, i16x8.splat(-256)), 8 - e);
  }

  /** Field n of the even columns of p, masked in place (code·2^(6−2n)). */
  @inline static ce(n: i32, p: v128): v128 {
    const m: i32 = 3 << (6 - 2 * n);
    return v128.and(p, i16x8.splat(<i16>m));
  }

  /** Field n of the odd columns (p6 = p >> 6): code·2^(8−2n). */
  @inline static co(n: i32, p: v128, p6: v128): v128 {
    if (n === 3) return v128.and(p, i16x8.splat(0x300));
    const m: i32 = 0x300 >> (2 * n);
    return v128.and(p6, i16x8.splat(<i16>m));
  }

  /** acc + 256 · Σ code·x over a field's even (ae, ce) and odd (ao, co) columns. */
  @inline static madd(ae: v128, ce: v128, ao: v128, co: v128, acc: v128): v128 {
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(ae, ce));
    return i32x4.add(acc, i32x4.dot_i16x8_s(ao, co));
  }

  /** acc + 256 · Σ code·x over field pair n of a half-block. */
  @inline static field(n: i32, p: v128, p6: v128, ae: v128, ao: v128, acc: v128): v128 {
    return MaddDots.madd(ae, MaddDots.ce(n, p), ao, MaddDots.co(n, p, p6), acc);
  }

  /** dot(x, code) of the four rows of the group at g; out[0..4). */
  @inline static dot4(g: usize, x: usize, blocks: i32, out: usize): void {
    let t0 = i32x4.splat(0);
    let t1 = i32x4.splat(0);
    let t2 = i32x4.splat(0);
    let t3 = i32x4.splat(0);
    for (let start = 0; start < blocks; start += MADD_FLUSH_BLOCKS) {
      const end = min(start + MADD_FLUSH_BLOCKS, blocks);
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let a2 = i32x4.splat(0);
      let a3 = i32x4.splat(0);
      for (let b = start; b < end; b++) {
        for (let h: usize = 0; h < 32; h += 16) {
          const wp = g + <usize>b * BLOCK_STEP + h;
          const xo = x + ((<usize>b) << 7) + h;
          const p0 = v128.load(wp);
          const p1 = v128.load(wp, 32);
          const p2 = v128.load(wp, 64);
          const p3 = v128.load(wp, 96);
          const q0 = i16x8.shr_u(p0, 6);
          const q1 = i16x8.shr_u(p1, 6);
          const q2 = i16x8.shr_u(p2, 6);
          const q3 = i16x8.shr_u(p3, 6);
          // unrolled by hand: masks and shifts must be constants
          let v = v128.load(xo);
          let ae = MaddDots.even(v, 2);
          let ao = MaddDots.odd(v, 0);
          a0 = MaddDots.field(0, p0, q0, ae, ao, a0);
          a1 = MaddDots.field(0, p1, q1, ae, ao, a1);
          a2 = MaddDots.field(0, p2, q2, ae, ao, a2);
          a3 = MaddDots.field(0, p3, q3, ae, ao, a3);
          v = v128.load(xo, 32);
          ae = MaddDots.even(v, 4);
          ao = MaddDots.odd(v, 2);
          a0 = MaddDots.field(1, p0, q0, ae, ao, a0);
          a1 = MaddDots.field(1, p1, q1, ae, ao, a1);
          a2 = MaddDots.field(1, p2, q2, ae, ao, a2);
          a3 = MaddDots.field(1, p3, q3, ae, ao, a3);
          v = v128.load(xo, 64);
          ae = MaddDots.even(v, 6);
          ao = MaddDots.odd(v, 4);
          a0 = MaddDots.field(2, p0, q0, ae, ao, a0);
          a1 = MaddDots.field(2, p1, q1, ae, ao, a1);
          a2 = MaddDots.field(2, p2, q2, ae, ao, a2);
          a3 = MaddDots.field(2, p3, q3, ae, ao, a3);
          v = v128.load(xo, 96);
          ae = MaddDots.even(v, 8);
          ao = MaddDots.odd(v, 0);
          a0 = MaddDots.field(3, p0, q0, ae, ao, a0);
          a1 = MaddDots.field(3, p1, q1, ae, ao, a1);
          a2 = MaddDots.field(3, p2, q2, ae, ao, a2);
          a3 = MaddDots.field(3, p3, q3, ae, ao, a3);
        }
      }
      t0 = i32x4.add(t0, i32x4.shr_s(a0, 8));
      t1 = i32x4.add(t1, i32x4.shr_s(a1, 8));
      t2 = i32x4.add(t2, i32x4.shr_s(a2, 8));
      t3 = i32x4.add(t3, i32x4.shr_s(a3, 8));
    }
    store<i32>(out, Lanes.hsum(t0));
    store<i32>(out, Lanes.hsum(t1), 4);
    store<i32>(out, Lanes.hsum(t2), 8);
    store<i32>(out, Lanes.hsum(t3), 12);
  }

  /**
   * Prefill: two rows (w, w + 32) × four tokens per pass, each masked code used four
   * times and each scaled activation twice; writes out + j·4 + t·os (j = row). Unrolled
   * by hand (constant shifts): a loop over the fields with variable shifts measured 18
   * against 26 G MAC/s in Chromium 156. No flush (registers are short): exact up to 1000
   * blocks (128 000 columns; 2B4T's widest rows have 6912).
   */
  @inline static dotRows2Tokens4(
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
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    let b0 = i32x4.splat(0);
    let b1 = i32x4.splat(0);
    let b2 = i32x4.splat(0);
    let b3 = i32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      for (let h: usize = 0; h < 32; h += 16) {
        const wp = w + <usize>b * BLOCK_STEP + h;
        const xo = ((<usize>b) << 7) + h;
        const p = v128.load(wp);
        const q = v128.load(wp, 32);
        const p6 = i16x8.shr_u(p, 6);
        const q6 = i16x8.shr_u(q, 6);
        let cp: v128;
        let dp: v128;
        let cq: v128;
        let dq: v128;
        let v: v128;
        let ae: v128;
        let ao: v128;
        cp = MaddDots.ce(0, p);
        dp = MaddDots.co(0, p, p6);
        cq = MaddDots.ce(0, q);
        dq = MaddDots.co(0, q, q6);
        v = v128.load(x0 + xo);
        ae = MaddDots.even(v, 2);
        ao = MaddDots.odd(v, 0);
        a0 = MaddDots.madd(ae, cp, ao, dp, a0);
        b0 = MaddDots.madd(ae, cq, ao, dq, b0);
        v = v128.load(x1 + xo);
        ae = MaddDots.even(v, 2);
        ao = MaddDots.odd(v, 0);
        a1 = MaddDots.madd(ae, cp, ao, dp, a1);
        b1 = MaddDots.madd(ae, cq, ao, dq, b1);
        v = v128.load(x2 + xo);
        ae = MaddDots.even(v, 2);
        ao = MaddDots.odd(v, 0);
        a2 = MaddDots.madd(ae, cp, ao, dp, a2);
        b2 = MaddDots.madd(ae, cq, ao, dq, b2);
        v = v128.load(x3 + xo);
        ae = MaddDots.even(v, 2);
        ao = MaddDots.odd(v, 0);
        a3 = MaddDots.madd(ae, cp, ao, dp, a3);
        b3 = MaddDots.madd(ae, cq, ao, dq, b3);
        cp = MaddDots.ce(1, p);
        dp = MaddDots.co(1, p, p6);
        cq = MaddDots.ce(1, q);
        dq = MaddDots.co(1, q, q6);
        v = v128.load(x0 + xo + 32);
        ae = MaddDots.even(v, 4);
        ao = MaddDots.odd(v, 2);
        a0 = MaddDots.madd(ae, cp, ao, dp, a0);
        b0 = MaddDots.madd(ae, cq, ao, dq, b0);
        v = v128.load(x1 + xo + 32);
        ae = MaddDots.even(v, 4);
        ao = MaddDots.odd(v, 2);
        a1 = MaddDots.madd(ae, cp, ao, dp, a1);
        b1 = MaddDots.madd(ae, cq, ao, dq, b1);
        v = v128.load(x2 + xo + 32);
        ae = MaddDots.even(v, 4);
        ao = MaddDots.odd(v, 2);
        a2 = MaddDots.madd(ae, cp, ao, dp, a2);
        b2 = MaddDots.madd(ae, cq, ao, dq, b2);
        v = v128.load(x3 + xo + 32);
        ae = MaddDots.even(v, 4);
        ao = MaddDots.odd(v, 2);
        a3 = MaddDots.madd(ae, cp, ao, dp, a3);
        b3 = MaddDots.madd(ae, cq, ao, dq, b3);
        cp = MaddDots.ce(2, p);
        dp = MaddDots.co(2, p, p6);
        cq = MaddDots.ce(2, q);
        dq = MaddDots.co(2, q, q6);
        v = v128.load(x0 + xo + 64);
        ae = MaddDots.even(v, 6);
        ao = MaddDots.odd(v, 4);
        a0 = MaddDots.madd(ae, cp, ao, dp, a0);
        b0 = MaddDots.madd(ae, cq, ao, dq, b0);
        v = v128.load(x1 + xo + 64);
        ae = MaddDots.even(v, 6);
        ao = MaddDots.odd(v, 4);
        a1 = MaddDots.madd(ae, cp, ao, dp, a1);
        b1 = MaddDots.madd(ae, cq, ao, dq, b1);
        v = v128.load(x2 + xo + 64);
        ae = MaddDots.even(v, 6);
        ao = MaddDots.odd(v, 4);
        a2 = MaddDots.madd(ae, cp, ao, dp, a2);
        b2 = MaddDots.madd(ae, cq, ao, dq, b2);
        v = v128.load(x3 + xo + 64);
        ae = MaddDots.even(v, 6);
        ao = MaddDots.odd(v, 4);
        a3 = MaddDots.madd(ae, cp, ao, dp, a3);
        b3 = MaddDots.madd(ae, cq, ao, dq, b3);
        cp = MaddDots.ce(3, p);
        dp = MaddDots.co(3, p, p6);
        cq = MaddDots.ce(3, q);
        dq = MaddDots.co(3, q, q6);
        v = v128.load(x0 + xo + 96);
        ae = MaddDots.even(v, 8);
        ao = MaddDots.odd(v, 0);
        a0 = MaddDots.madd(ae, cp, ao, dp, a0);
        b0 = MaddDots.madd(ae, cq, ao, dq, b0);
        v = v128.load(x1 + xo + 96);
        ae = MaddDots.even(v, 8);
        ao = MaddDots.odd(v, 0);
        a1 = MaddDots.madd(ae, cp, ao, dp, a1);
        b1 = MaddDots.madd(ae, cq, ao, dq, b1);
        v = v128.load(x2 + xo + 96);
        ae = MaddDots.even(v, 8);
        ao = MaddDots.odd(v, 0);
        a2 = MaddDots.madd(ae, cp, ao, dp, a2);
        b2 = MaddDots.madd(ae, cq, ao, dq, b2);
        v = v128.load(x3 + xo + 96);
        ae = MaddDots.even(v, 8);
        ao = MaddDots.odd(v, 0);
        a3 = MaddDots.madd(ae, cp, ao, dp, a3);
        b3 = MaddDots.madd(ae, cq, ao, dq, b3);
      }
    }
    store<i32>(out, Lanes.hsum(i32x4.shr_s(a0, 8)));
    store<i32>(out + os, Lanes.hsum(i32x4.shr_s(a1, 8)));
    store<i32>(out + 2 * os, Lanes.hsum(i32x4.shr_s(a2, 8)));
    store<i32>(out + 3 * os, Lanes.hsum(i32x4.shr_s(a3, 8)));
    store<i32>(out, Lanes.hsum(i32x4.shr_s(b0, 8)), 4);
    store<i32>(out + os, Lanes.hsum(i32x4.shr_s(b1, 8)), 4);
    store<i32>(out + 2 * os, Lanes.hsum(i32x4.shr_s(b2, 8)), 4);
    store<i32>(out + 3 * os, Lanes.hsum(i32x4.shr_s(b3, 8)), 4);
  }
}

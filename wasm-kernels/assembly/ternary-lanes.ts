// The lane-pair form of the ternary dots (the kernels' form 4, ternary.ts): SIMD128's
// fastest exact decode, in its own weight layout. Without relaxed SIMD the cheapest exact
// product is i32x4.dot_i16x8_s (x86 pmaddwd: 8 products), half the width of relaxed
// SIMD's i8 dot; like the row-pair prefill (ternary-pairs.ts) this form puts two rows'
// weights into each i16 lane to get 16 products per instruction back, but from a layout
// made for it, where one byte interleave and one mask build those lanes: about 4.5
// operations per 16 codes against the row pairs' 8 from the shipped layout.

import { Lanes } from "./lanes";

/** Bytes from one block of a row to its next (a group of four rows' blocks: kernels.ts). */
const BLOCK_STEP: usize = 128;

/**
 * The lane-pair layout keeps the shipped one's groups of four rows and blocks of 128
 * columns (the same bytes per block, so every offset and size is unchanged) and reorders
 * the bits within each 128-byte block. A block is eight 16-byte steps; step s holds
 * columns 16s..16s + 15 of the group's two row pairs, P0 = rows (0, 1), P1 = rows (2, 3).
 * Byte j of a step (h = j >> 3, p = (j >> 2) & 1, q = j & 3) holds, for pair p = (a, b):
 *   bits 0–1: code (w + 1) of row a at column c = 16s + 8h + q; bits 2–3: row a at c + 4;
 *   bits 4–5: row b's weight at c + 4 as 2-bit two's complement; bits 6–7: row b at c.
 * Interleaving a step's bytes with themselves (low half, then high) and masking 0xc003
 * gives i16 lanes code_a + 2^14·w_b for columns 16s + 8h + 0..3 of P0 (lanes 0–3) and P1
 * (lanes 4–7); the same on the step shifted right and left by 2 (bits 2–3 to 0–1, 4–5 to
 * 6–7) gives columns +4..7. dot_i16x8_s against those four activations, twice over,
 * sums Σ x·code_a + 2^14·Σ x·w_b per i32 lane (lanes 0–1: P0, 2–3: P1).
 */
export class LaneDots {
  /**
   * Rewrites the shipped layout's block at `block` (four rows × 128 columns) in the
   * lane-pair layout, through 128 bytes of `copy`.
   */
  @inline static relayBlock(block: usize, copy: usize): void {
    for (let i: usize = 0; i < 128; i += 16) v128.store(copy + i, v128.load(block + i));
    const m = i8x16.splat(3);
    for (let s = 0; s < 8; s++) {
      // columns 16s.. are bytes 16·(s & 1).. of each row's 32, field n = s >> 1
      const half = copy + ((<usize>(s & 1)) << 4);
      const r0 = v128.load(half);
      const r1 = v128.load(half, 32);
      const r2 = v128.load(half, 64);
      const r3 = v128.load(half, 96);
      const shift = 6 - 2 * (s >> 1);
      // byte j: row a (row 0 or 2, by p) at column byte 8h + q, and at + 4; row b (1 or 3)
      const a0 = i8x16.shuffle(r0, r2, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
      const a1 = i8x16.shuffle(r0, r2, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
      const b0 = i8x16.shuffle(r1, r3, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
      const b1 = i8x16.shuffle(r1, r3, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
      const ca0 = v128.and(i16x8.shr_u(a0, shift), m);
      const ca1 = v128.and(i16x8.shr_u(a1, shift), m);
      // w = code − 1 as two bits: 0 → 3, 1 → 0, 2 → 1
      const wb0 = v128.and(i8x16.sub(v128.and(i16x8.shr_u(b0, shift), m), i8x16.splat(1)), m);
      const wb1 = v128.and(i8x16.sub(v128.and(i16x8.shr_u(b1, shift), m), i8x16.splat(1)), m);
      const out = v128.or(
        v128.or(ca0, i16x8.shl(ca1, 2)),
        v128.or(i16x8.shl(wb1, 4), i16x8.shl(wb0, 6)),
      );
      v128.store(block + ((<usize>s) << 4), out);
    }
  }

  /**
   * Activations as the lane form reads them, from int8 xq (blocks × 128): per block 32
   * vectors of four columns' i16 values twice over (each step's lanes pair four columns
   * with both row pairs; stored doubled, a plain load replaces a 64-bit splat load, which
   * JavaScriptCore runs slowly: WebKit's decode 15 → 17 G MAC/s, V8's unchanged), then
   * per block [−s01, −s23, −s01, −s23], s01 the sum of its columns with
   * c mod 4 in {0, 1} (what i32 lanes 0 and 2 see), s23 of the rest. Starting each
   * block's sums there takes the codes' +1 off row a's sums, so that they are Σ x·w
   * within ±64·127 = ±8128 at a block's end: the low 14 bits of an i32 lane give them
   * exactly (activations in [−127, 127], what quantize makes).
   */
  @inline static inputs(xq: usize, blocks: i32, dst: usize): void {
    const sums = dst + ((<usize>blocks) << 9);
    const ones = i16x8.splat(1);
    for (let b = 0; b < blocks; b++) {
      let t = i32x4.splat(0);
      for (let c: usize = 0; c < 128; c += 16) {
        const v = v128.load(xq + ((<usize>b) << 7) + c);
        const lo = i16x8.extend_low_i8x16_s(v);
        const hi = i16x8.extend_high_i8x16_s(v);
        const o = dst + ((<usize>b) << 9) + (c << 2);
        v128.store(o, i64x2.shuffle(lo, lo, 0, 0));
        v128.store(o, i64x2.shuffle(lo, lo, 1, 1), 16);
        v128.store(o, i64x2.shuffle(hi, hi, 0, 0), 32);
        v128.store(o, i64x2.shuffle(hi, hi, 1, 1), 48);
        t = i32x4.add(t, i32x4.add(i32x4.dot_i16x8_s(lo, ones), i32x4.dot_i16x8_s(hi, ones)));
      }
      const s = i32x4.add(t, i32x4.shuffle(t, t, 2, 3, 0, 1));
      v128.store(sums + ((<usize>b) << 4), i32x4.neg(s));
    }
  }

  // The four lane vectors of a 16-byte step v (columns +0..3, +4..7, +8..11, +12..15;
  // vr, vl: v shifted right and left by 2).
  @inline static l0(v: v128, m: v128): v128 {
    return v128.and(i8x16.shuffle(v, v, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), m);
  }

  @inline static l1(vr: v128, vl: v128, m: v128): v128 {
    return v128.and(
      i8x16.shuffle(vr, vl, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23),
      m,
    );
  }

  @inline static l2(v: v128, m: v128): v128 {
    return v128.and(
      i8x16.shuffle(v, v, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31),
      m,
    );
  }

  @inline static l3(vr: v128, vl: v128, m: v128): v128 {
    return v128.and(
      i8x16.shuffle(vr, vl, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31),
      m,
    );
  }

  /** acc + the products of one 16-byte step v with activations at xo (4 vectors). */
  @inline static step(v: v128, xo: usize, m: v128, acc: v128): v128 {
    const vr = i16x8.shr_u(v, 2);
    const vl = i16x8.shl(v, 2);
    // summed as a tree: one add on the accumulator's chain per step
    const p0 = i32x4.dot_i16x8_s(LaneDots.l0(v, m), v128.load(xo));
    const p1 = i32x4.dot_i16x8_s(LaneDots.l1(vr, vl, m), v128.load(xo, 16));
    const p2 = i32x4.dot_i16x8_s(LaneDots.l2(v, m), v128.load(xo, 32));
    const p3 = i32x4.dot_i16x8_s(LaneDots.l3(vr, vl, m), v128.load(xo, 48));
    return i32x4.add(acc, i32x4.add(i32x4.add(p0, p1), i32x4.add(p2, p3)));
  }

  /** The group's four rows from its row-a sums ta and row-b sums tb (lanes: P0, P0, P1, P1). */
  @inline static rows(ta: v128, tb: v128): v128 {
    return i32x4.add(i32x4.shuffle(ta, tb, 0, 4, 2, 6), i32x4.shuffle(ta, tb, 1, 5, 3, 7));
  }

  /**
   * dot(x, w) of the four rows of the group at g; out[0..4). xs: the activations as
   * inputs() wrote them; m: the 0xc003 mask. One group and one step per loop turn,
   * walking pointers: two groups sharing their activation loads, or two steps a turn,
   * were slower in the whole model (wasm-kernels/README.md).
   */
  @inline static dots4(g: usize, xs: usize, blocks: i32, m: v128, out: usize): void {
    const sums = xs + ((<usize>blocks) << 9);
    let ta = i32x4.splat(0);
    let tb = i32x4.splat(0);
    // a group's blocks follow one another, as do the activations' (512 bytes a block)
    let wp = g;
    let xp = xs;
    for (let b = 0; b < blocks; b++) {
      let acc = v128.load(sums + ((<usize>b) << 4));
      const end = wp + BLOCK_STEP;
      for (; wp < end; wp += 16, xp += 64) acc = LaneDots.step(v128.load(wp), xp, m, acc);
      const lo = Lanes.pairLow(acc);
      ta = i32x4.add(ta, lo);
      tb = i32x4.add(tb, Lanes.pairHigh(acc, lo));
    }
    v128.store(out, LaneDots.rows(ta, tb));
  }

  /**
   * Prefill: block at g unpacked into the row-pair form's pieces (ternary-pairs.ts
   * PairDots.unpackBlock's arrangement: piece i, columns 8i..8i + 7, at slot + i·ps; pair
   * P0 then P1, 16 bytes apart), as lanes w_a + 2^14·w_b: the lanes above less 1.
   */
  @inline static unpackBlock(g: usize, slot: usize, ps: usize): void {
    const m = i16x8.splat(<i16>0xc003);
    const one = i16x8.splat(1);
    for (let s: usize = 0; s < 8; s++) {
      const v = v128.load(g + (s << 4));
      const vr = i16x8.shr_u(v, 2);
      const vl = i16x8.shl(v, 2);
      // columns 16s + 0..7 (l0: +0..3, l1: +4..7) and 16s + 8..15 (l2, l3)
      const w0 = i16x8.sub(LaneDots.l0(v, m), one);
      const w1 = i16x8.sub(LaneDots.l1(vr, vl, m), one);
      const w2 = i16x8.sub(LaneDots.l2(v, m), one);
      const w3 = i16x8.sub(LaneDots.l3(vr, vl, m), one);
      const piece = slot + (s << 1) * ps;
      v128.store(piece, i64x2.shuffle(w0, w1, 0, 2));
      v128.store(piece, i64x2.shuffle(w0, w1, 1, 3), 16);
      v128.store(piece + ps, i64x2.shuffle(w2, w3, 0, 2));
      v128.store(piece + ps, i64x2.shuffle(w2, w3, 1, 3), 16);
    }
  }
}

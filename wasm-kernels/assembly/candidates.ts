// Layout candidates that lost to kernels.ts's, kept to re-measure on new engines
// (scripts/bench/kernels.ts runs them next to the shipped kernels; the numbers are in
// the header of kernels.ts). Not used by the engine.

/** The per-token tables for lut_dots: 32 bytes per column pair. cols even. */
export function lut_tables(x: usize, cols: i32, tables: usize): void {
  for (let p = 0; p < cols >> 1; p++) {
    const a = <i32>load<i8>(x + <usize>(2 * p));
    const b = <i32>load<i8>(x + <usize>(2 * p + 1));
    const al = a & 15;
    const bl = b & 15;
    const ah = a >> 4;
    const bh = b >> 4;
    const t = tables + ((<usize>p) << 5);
    for (let idx = 0; idx < 16; idx++) {
      const c0 = idx & 3;
      const c1 = idx >> 2;
      const valid = c0 < 3 && c1 < 3;
      store<i8>(t + <usize>idx, valid ? <i8>((c0 - 1) * al + (c1 - 1) * bl) : 0);
      store<i8>(t + 16 + <usize>idx, valid ? <i8>((c0 - 1) * ah + (c1 - 1) * bh) : 0);
    }
  }
}

/**
 * The shipped layout with i32x4.relaxed_dot_i8x16_i7x16_add_s (dot and widen in one
 * instruction): rows one at a time. Relaxed build only.
 */
export function relaxed_add_dots(
  rows: i32,
  w: usize,
  stride: i32,
  x: usize,
  xSum: i32,
  out: usize,
): void {
  if (!ASC_FEATURE_RELAXED_SIMD) return;
  const m = i8x16.splat(3);
  const blocks = stride >> 5;
  for (let r = 0; r < rows; r++) {
    // rows in interleaved groups of four (kernels.ts)
    const wr = w + <usize>(r & ~3) * <usize>stride + ((<usize>(r & 3)) << 5);
    let a = i32x4.splat(0);
    let b2 = i32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const p0 = v128.load(wr + ((<usize>b) << 7));
      const p1 = v128.load(wr + ((<usize>b) << 7), 16);
      const xo = x + ((<usize>b) << 7);
      a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo), v128.and(i16x8.shr_u(p0, 6), m), a);
      a = i32x4.relaxed_dot_i8x16_i7x16_add_s(
        v128.load(xo, 32),
        v128.and(i16x8.shr_u(p0, 4), m),
        a,
      );
      a = i32x4.relaxed_dot_i8x16_i7x16_add_s(
        v128.load(xo, 64),
        v128.and(i16x8.shr_u(p0, 2), m),
        a,
      );
      a = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo, 96), v128.and(p0, m), a);
      b2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(
        v128.load(xo, 16),
        v128.and(i16x8.shr_u(p1, 6), m),
        b2,
      );
      b2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(
        v128.load(xo, 48),
        v128.and(i16x8.shr_u(p1, 4), m),
        b2,
      );
      b2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(
        v128.load(xo, 80),
        v128.and(i16x8.shr_u(p1, 2), m),
        b2,
      );
      b2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo, 112), v128.and(p1, m), b2);
    }
    const s = i32x4.add(a, b2);
    store<i32>(
      out + ((<usize>r) << 2),
      i32x4.extract_lane(s, 0) +
        i32x4.extract_lane(s, 1) +
        i32x4.extract_lane(s, 2) +
        i32x4.extract_lane(s, 3) -
        xSum,
    );
  }
}

// Inlined helpers are static methods: TypeScript syntax (which biome parses) allows
// decorators on methods, not on functions.
class Masked {
  /** i32x4.relaxed_dot_i8x16_i7x16_add_s (relaxed build; a no-op in SIMD128). */
  @inline static da(x: v128, c: v128, a: v128): v128 {
    if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, c, a);
    return a;
  }

  @inline static hs(v: v128): i32 {
    return (
      i32x4.extract_lane(v, 0) +
      i32x4.extract_lane(v, 1) +
      i32x4.extract_lane(v, 2) +
      i32x4.extract_lane(v, 3)
    );
  }
}

/**
 * The shipped dot-add kernel (kernels.ts dot4Add), with the fields taken by masks alone
 * where they fit the i7 operand (×1, ×4, ×16; one shift for the top field) into three
 * accumulators per row, scaled back at the end: fewer shifts, more registers. Relaxed
 * build only.
 */
export function mask_dots4(
  rows: i32,
  w: usize,
  stride: i32,
  x: usize,
  xSum: i32,
  out: usize,
): void {
  const blocks = stride >> 5;
  const s = <usize>stride;
  const m1 = i8x16.splat(0x03);
  const m4 = i8x16.splat(0x0c);
  const m16 = i8x16.splat(0x30);
  for (let r = 0; r < rows; r += 4) {
    const g = w + <usize>r * s;
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    let b0 = i32x4.splat(0);
    let b1 = i32x4.splat(0);
    let b2 = i32x4.splat(0);
    let b3 = i32x4.splat(0);
    let c0 = i32x4.splat(0);
    let c1 = i32x4.splat(0);
    let c2 = i32x4.splat(0);
    let c3 = i32x4.splat(0);
    for (let b = 0; b < blocks; b++) {
      const off = (<usize>b) << 7;
      for (let hb: usize = 0; hb < 32; hb += 16) {
        const xo = x + ((<usize>b) << 7) + hb;
        const x0 = v128.load(xo);
        const x1 = v128.load(xo, 32);
        const x2 = v128.load(xo, 64);
        const x3 = v128.load(xo, 96);
        let p = v128.load(g + off + hb);
        a0 = Masked.da(x3, v128.and(p, m1), a0);
        b0 = Masked.da(x2, v128.and(p, m4), b0);
        c0 = Masked.da(x1, v128.and(p, m16), c0);
        c0 = Masked.da(x0, v128.and(i16x8.shr_u(p, 2), m16), c0);
        p = v128.load(g + off + hb, 32);
        a1 = Masked.da(x3, v128.and(p, m1), a1);
        b1 = Masked.da(x2, v128.and(p, m4), b1);
        c1 = Masked.da(x1, v128.and(p, m16), c1);
        c1 = Masked.da(x0, v128.and(i16x8.shr_u(p, 2), m16), c1);
        p = v128.load(g + off + hb, 64);
        a2 = Masked.da(x3, v128.and(p, m1), a2);
        b2 = Masked.da(x2, v128.and(p, m4), b2);
        c2 = Masked.da(x1, v128.and(p, m16), c2);
        c2 = Masked.da(x0, v128.and(i16x8.shr_u(p, 2), m16), c2);
        p = v128.load(g + off + hb, 96);
        a3 = Masked.da(x3, v128.and(p, m1), a3);
        b3 = Masked.da(x2, v128.and(p, m4), b3);
        c3 = Masked.da(x1, v128.and(p, m16), c3);
        c3 = Masked.da(x0, v128.and(i16x8.shr_u(p, 2), m16), c3);
      }
    }
    const o = out + ((<usize>r) << 2);
    store<i32>(o, Masked.hs(a0) + (Masked.hs(b0) >> 2) + (Masked.hs(c0) >> 4) - xSum);
    store<i32>(o, Masked.hs(a1) + (Masked.hs(b1) >> 2) + (Masked.hs(c1) >> 4) - xSum, 4);
    store<i32>(o, Masked.hs(a2) + (Masked.hs(b2) >> 2) + (Masked.hs(c2) >> 4) - xSum, 8);
    store<i32>(o, Masked.hs(a3) + (Masked.hs(b3) >> 2) + (Masked.hs(c3) >> 4) - xSum, 12);
  }
}

/**
 * Lookup tables with i8x16.swizzle (T-MAC style), exact: rows in groups of 16, each byte
 * holding two column pairs' code indices (c0 + 4·c1, low nibble pair 2q, high 2q + 1).
 * Activations split as x = 16·xh + xl (xl in 0..15, xh in −8..7) so that a pair's table
 * of Σ (c − 1)·x fits int8: per pair 16 bytes for xl, then 16 for xh (lut_tables).
 * Writes dot(x, w) for each of 16·groups rows. Two column quads' lookups are summed in
 * i8 (lo parts within ±120, hi parts within ±64) before widening to i16 (per 512 quads
 * to i32): 27 against 21 G MAC/s widening every quad. quads even.
 */
export function lut_dots(groups: i32, w: usize, quads: i32, tables: usize, out: usize): void {
  const m = i8x16.splat(15);
  for (let g = 0; g < groups; g++) {
    let l0 = i32x4.splat(0);
    let l1 = i32x4.splat(0);
    let l2 = i32x4.splat(0);
    let l3 = i32x4.splat(0);
    let h0 = i32x4.splat(0);
    let h1 = i32x4.splat(0);
    let h2 = i32x4.splat(0);
    let h3 = i32x4.splat(0);
    const wg = w + <usize>g * <usize>quads * 16;
    for (let start = 0; start < quads; start += 512) {
      const end = min(start + 512, quads);
      let aL0 = i16x8.splat(0);
      let aL1 = i16x8.splat(0);
      let aH0 = i16x8.splat(0);
      let aH1 = i16x8.splat(0);
      for (let q = start; q < end; q += 2) {
        const v = v128.load(wg + ((<usize>q) << 4));
        const u = v128.load(wg + ((<usize>q) << 4), 16);
        const t = tables + ((<usize>q) << 6);
        let lo = v128.and(v, m);
        let hi = v128.and(i16x8.shr_u(v, 4), m);
        let sL = i8x16.add(i8x16.swizzle(v128.load(t), lo), i8x16.swizzle(v128.load(t, 32), hi));
        let sH = i8x16.add(
          i8x16.swizzle(v128.load(t, 16), lo),
          i8x16.swizzle(v128.load(t, 48), hi),
        );
        lo = v128.and(u, m);
        hi = v128.and(i16x8.shr_u(u, 4), m);
        sL = i8x16.add(sL, i8x16.swizzle(v128.load(t, 64), lo));
        sL = i8x16.add(sL, i8x16.swizzle(v128.load(t, 96), hi));
        sH = i8x16.add(sH, i8x16.swizzle(v128.load(t, 80), lo));
        sH = i8x16.add(sH, i8x16.swizzle(v128.load(t, 112), hi));
        aL0 = i16x8.add(aL0, i16x8.extend_low_i8x16_s(sL));
        aL1 = i16x8.add(aL1, i16x8.extend_high_i8x16_s(sL));
        aH0 = i16x8.add(aH0, i16x8.extend_low_i8x16_s(sH));
        aH1 = i16x8.add(aH1, i16x8.extend_high_i8x16_s(sH));
      }
      l0 = i32x4.add(l0, i32x4.extend_low_i16x8_s(aL0));
      l1 = i32x4.add(l1, i32x4.extend_high_i16x8_s(aL0));
      l2 = i32x4.add(l2, i32x4.extend_low_i16x8_s(aL1));
      l3 = i32x4.add(l3, i32x4.extend_high_i16x8_s(aL1));
      h0 = i32x4.add(h0, i32x4.extend_low_i16x8_s(aH0));
      h1 = i32x4.add(h1, i32x4.extend_high_i16x8_s(aH0));
      h2 = i32x4.add(h2, i32x4.extend_low_i16x8_s(aH1));
      h3 = i32x4.add(h3, i32x4.extend_high_i16x8_s(aH1));
    }
    const o = out + ((<usize>g) << 6);
    v128.store(o, i32x4.add(l0, i32x4.shl(h0, 4)));
    v128.store(o, i32x4.add(l1, i32x4.shl(h1, 4)), 16);
    v128.store(o, i32x4.add(l2, i32x4.shl(h2, 4)), 32);
    v128.store(o, i32x4.add(l3, i32x4.shl(h3, 4)), 48);
  }
}

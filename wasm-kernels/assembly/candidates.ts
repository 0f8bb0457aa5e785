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

/**
 * lut_dots on the shipped layout (kernels.ts): no layout of its own. Sixteen rows (four
 * groups) at a time, each half-block's 16 × 16 code bytes are transposed in registers
 * (64 byte, word, dword and qword interleaves) so that lane R of vector m is byte m of
 * row R, whose high nibble indexes the pair of columns (m, m + 32) and low nibble
 * (m + 64, m + 96) of the half-block: two table pairs per byte (lut_tables_shipped).
 * rows a multiple of 16; writes dot(x, w) (tables of (c − 1)·x: no xSum).
 */
export function lut_dots_shipped(
  rows: i32,
  w: usize,
  stride: i32,
  tables: usize,
  out: usize,
): void {
  const s = <usize>stride;
  const blocks = stride >> 5;
  const m15 = i8x16.splat(15);
  for (let r = 0; r < rows; r += 16) {
    const g = w + <usize>r * s;
    let l0 = i32x4.splat(0);
    let l1 = i32x4.splat(0);
    let l2 = i32x4.splat(0);
    let l3 = i32x4.splat(0);
    let h0 = i32x4.splat(0);
    let h1 = i32x4.splat(0);
    let h2 = i32x4.splat(0);
    let h3 = i32x4.splat(0);
    for (let start = 0; start < blocks; start += 8) {
      const end = min(start + 8, blocks);
      let aL0 = i16x8.splat(0);
      let aL1 = i16x8.splat(0);
      let aH0 = i16x8.splat(0);
      let aH1 = i16x8.splat(0);
      for (let b = start; b < end; b++) {
        for (let hh: usize = 0; hh < 32; hh += 16) {
          const p = g + ((<usize>b) << 7) + hh;
          const r0 = v128.load(p + 0 * 4 * s, 0);
          const r1 = v128.load(p + 0 * 4 * s, 32);
          const r2 = v128.load(p + 0 * 4 * s, 64);
          const r3 = v128.load(p + 0 * 4 * s, 96);
          const r4 = v128.load(p + 1 * 4 * s, 0);
          const r5 = v128.load(p + 1 * 4 * s, 32);
          const r6 = v128.load(p + 1 * 4 * s, 64);
          const r7 = v128.load(p + 1 * 4 * s, 96);
          const r8 = v128.load(p + 2 * 4 * s, 0);
          const r9 = v128.load(p + 2 * 4 * s, 32);
          const r10 = v128.load(p + 2 * 4 * s, 64);
          const r11 = v128.load(p + 2 * 4 * s, 96);
          const r12 = v128.load(p + 3 * 4 * s, 0);
          const r13 = v128.load(p + 3 * 4 * s, 32);
          const r14 = v128.load(p + 3 * 4 * s, 64);
          const r15 = v128.load(p + 3 * 4 * s, 96);
          const a0l = i8x16.shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const a0h = i8x16.shuffle(
            r0,
            r1,
            8,
            24,
            9,
            25,
            10,
            26,
            11,
            27,
            12,
            28,
            13,
            29,
            14,
            30,
            15,
            31,
          );
          const a1l = i8x16.shuffle(r2, r3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const a1h = i8x16.shuffle(
            r2,
            r3,
            8,
            24,
            9,
            25,
            10,
            26,
            11,
            27,
            12,
            28,
            13,
            29,
            14,
            30,
            15,
            31,
          );
          const a2l = i8x16.shuffle(r4, r5, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const a2h = i8x16.shuffle(
            r4,
            r5,
            8,
            24,
            9,
            25,
            10,
            26,
            11,
            27,
            12,
            28,
            13,
            29,
            14,
            30,
            15,
            31,
          );
          const a3l = i8x16.shuffle(r6, r7, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const a3h = i8x16.shuffle(
            r6,
            r7,
            8,
            24,
            9,
            25,
            10,
            26,
            11,
            27,
            12,
            28,
            13,
            29,
            14,
            30,
            15,
            31,
          );
          const a4l = i8x16.shuffle(r8, r9, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const a4h = i8x16.shuffle(
            r8,
            r9,
            8,
            24,
            9,
            25,
            10,
            26,
            11,
            27,
            12,
            28,
            13,
            29,
            14,
            30,
            15,
            31,
          );
          const a5l = i8x16.shuffle(
            r10,
            r11,
            0,
            16,
            1,
            17,
            2,
            18,
            3,
            19,
            4,
            20,
            5,
            21,
            6,
            22,
            7,
            23,
          );
          const a5h = i8x16.shuffle(
            r10,
            r11,
            8,
            24,
            9,
            25,
            10,
            26,
            11,
            27,
            12,
            28,
            13,
            29,
            14,
            30,
            15,
            31,
          );
          const a6l = i8x16.shuffle(
            r12,
            r13,
            0,
            16,
            1,
            17,
            2,
            18,
            3,
            19,
            4,
            20,
            5,
            21,
            6,
            22,
            7,
            23,
          );
          const a6h = i8x16.shuffle(
            r12,
            r13,
            8,
            24,
            9,
            25,
            10,
            26,
            11,
            27,
            12,
            28,
            13,
            29,
            14,
            30,
            15,
            31,
          );
          const a7l = i8x16.shuffle(
            r14,
            r15,
            0,
            16,
            1,
            17,
            2,
            18,
            3,
            19,
            4,
            20,
            5,
            21,
            6,
            22,
            7,
            23,
          );
          const a7h = i8x16.shuffle(
            r14,
            r15,
            8,
            24,
            9,
            25,
            10,
            26,
            11,
            27,
            12,
            28,
            13,
            29,
            14,
            30,
            15,
            31,
          );
          const b00 = i16x8.shuffle(a0l, a1l, 0, 8, 1, 9, 2, 10, 3, 11);
          const b01 = i16x8.shuffle(a0l, a1l, 4, 12, 5, 13, 6, 14, 7, 15);
          const b02 = i16x8.shuffle(a0h, a1h, 0, 8, 1, 9, 2, 10, 3, 11);
          const b03 = i16x8.shuffle(a0h, a1h, 4, 12, 5, 13, 6, 14, 7, 15);
          const b10 = i16x8.shuffle(a2l, a3l, 0, 8, 1, 9, 2, 10, 3, 11);
          const b11 = i16x8.shuffle(a2l, a3l, 4, 12, 5, 13, 6, 14, 7, 15);
          const b12 = i16x8.shuffle(a2h, a3h, 0, 8, 1, 9, 2, 10, 3, 11);
          const b13 = i16x8.shuffle(a2h, a3h, 4, 12, 5, 13, 6, 14, 7, 15);
          const b20 = i16x8.shuffle(a4l, a5l, 0, 8, 1, 9, 2, 10, 3, 11);
          const b21 = i16x8.shuffle(a4l, a5l, 4, 12, 5, 13, 6, 14, 7, 15);
          const b22 = i16x8.shuffle(a4h, a5h, 0, 8, 1, 9, 2, 10, 3, 11);
          const b23 = i16x8.shuffle(a4h, a5h, 4, 12, 5, 13, 6, 14, 7, 15);
          const b30 = i16x8.shuffle(a6l, a7l, 0, 8, 1, 9, 2, 10, 3, 11);
          const b31 = i16x8.shuffle(a6l, a7l, 4, 12, 5, 13, 6, 14, 7, 15);
          const b32 = i16x8.shuffle(a6h, a7h, 0, 8, 1, 9, 2, 10, 3, 11);
          const b33 = i16x8.shuffle(a6h, a7h, 4, 12, 5, 13, 6, 14, 7, 15);
          const c00 = i32x4.shuffle(b00, b10, 0, 4, 1, 5);
          const c01 = i32x4.shuffle(b00, b10, 2, 6, 3, 7);
          const c02 = i32x4.shuffle(b01, b11, 0, 4, 1, 5);
          const c03 = i32x4.shuffle(b01, b11, 2, 6, 3, 7);
          const c04 = i32x4.shuffle(b02, b12, 0, 4, 1, 5);
          const c05 = i32x4.shuffle(b02, b12, 2, 6, 3, 7);
          const c06 = i32x4.shuffle(b03, b13, 0, 4, 1, 5);
          const c07 = i32x4.shuffle(b03, b13, 2, 6, 3, 7);
          const c10 = i32x4.shuffle(b20, b30, 0, 4, 1, 5);
          const c11 = i32x4.shuffle(b20, b30, 2, 6, 3, 7);
          const c12 = i32x4.shuffle(b21, b31, 0, 4, 1, 5);
          const c13 = i32x4.shuffle(b21, b31, 2, 6, 3, 7);
          const c14 = i32x4.shuffle(b22, b32, 0, 4, 1, 5);
          const c15 = i32x4.shuffle(b22, b32, 2, 6, 3, 7);
          const c16 = i32x4.shuffle(b23, b33, 0, 4, 1, 5);
          const c17 = i32x4.shuffle(b23, b33, 2, 6, 3, 7);
          const t = tables + ((((<usize>b) << 1) + (hh >> 4)) << 10);
          {
            const u = i64x2.shuffle(c00, c10, 0, 2);
            const v = i64x2.shuffle(c00, c10, 1, 3);
            const uh = v128.and(i16x8.shr_u(u, 4), m15);
            const ul = v128.and(u, m15);
            const vh = v128.and(i16x8.shr_u(v, 4), m15);
            const vl = v128.and(v, m15);
            let sL = i8x16.add(
              i8x16.swizzle(v128.load(t, 0), uh),
              i8x16.swizzle(v128.load(t, 32), ul),
            );
            let sH = i8x16.add(
              i8x16.swizzle(v128.load(t, 16), uh),
              i8x16.swizzle(v128.load(t, 48), ul),
            );
            sL = i8x16.add(
              sL,
              i8x16.add(i8x16.swizzle(v128.load(t, 64), vh), i8x16.swizzle(v128.load(t, 96), vl)),
            );
            sH = i8x16.add(
              sH,
              i8x16.add(i8x16.swizzle(v128.load(t, 80), vh), i8x16.swizzle(v128.load(t, 112), vl)),
            );
            aL0 = i16x8.add(aL0, i16x8.extend_low_i8x16_s(sL));
            aL1 = i16x8.add(aL1, i16x8.extend_high_i8x16_s(sL));
            aH0 = i16x8.add(aH0, i16x8.extend_low_i8x16_s(sH));
            aH1 = i16x8.add(aH1, i16x8.extend_high_i8x16_s(sH));
          }
          {
            const u = i64x2.shuffle(c01, c11, 0, 2);
            const v = i64x2.shuffle(c01, c11, 1, 3);
            const uh = v128.and(i16x8.shr_u(u, 4), m15);
            const ul = v128.and(u, m15);
            const vh = v128.and(i16x8.shr_u(v, 4), m15);
            const vl = v128.and(v, m15);
            let sL = i8x16.add(
              i8x16.swizzle(v128.load(t, 128), uh),
              i8x16.swizzle(v128.load(t, 160), ul),
            );
            let sH = i8x16.add(
              i8x16.swizzle(v128.load(t, 144), uh),
              i8x16.swizzle(v128.load(t, 176), ul),
            );
            sL = i8x16.add(
              sL,
              i8x16.add(i8x16.swizzle(v128.load(t, 192), vh), i8x16.swizzle(v128.load(t, 224), vl)),
            );
            sH = i8x16.add(
              sH,
              i8x16.add(i8x16.swizzle(v128.load(t, 208), vh), i8x16.swizzle(v128.load(t, 240), vl)),
            );
            aL0 = i16x8.add(aL0, i16x8.extend_low_i8x16_s(sL));
            aL1 = i16x8.add(aL1, i16x8.extend_high_i8x16_s(sL));
            aH0 = i16x8.add(aH0, i16x8.extend_low_i8x16_s(sH));
            aH1 = i16x8.add(aH1, i16x8.extend_high_i8x16_s(sH));
          }
          {
            const u = i64x2.shuffle(c02, c12, 0, 2);
            const v = i64x2.shuffle(c02, c12, 1, 3);
            const uh = v128.and(i16x8.shr_u(u, 4), m15);
            const ul = v128.and(u, m15);
            const vh = v128.and(i16x8.shr_u(v, 4), m15);
            const vl = v128.and(v, m15);
            let sL = i8x16.add(
              i8x16.swizzle(v128.load(t, 256), uh),
              i8x16.swizzle(v128.load(t, 288), ul),
            );
            let sH = i8x16.add(
              i8x16.swizzle(v128.load(t, 272), uh),
              i8x16.swizzle(v128.load(t, 304), ul),
            );
            sL = i8x16.add(
              sL,
              i8x16.add(i8x16.swizzle(v128.load(t, 320), vh), i8x16.swizzle(v128.load(t, 352), vl)),
            );
            sH = i8x16.add(
              sH,
              i8x16.add(i8x16.swizzle(v128.load(t, 336), vh), i8x16.swizzle(v128.load(t, 368), vl)),
            );
            aL0 = i16x8.add(aL0, i16x8.extend_low_i8x16_s(sL));
            aL1 = i16x8.add(aL1, i16x8.extend_high_i8x16_s(sL));
            aH0 = i16x8.add(aH0, i16x8.extend_low_i8x16_s(sH));
            aH1 = i16x8.add(aH1, i16x8.extend_high_i8x16_s(sH));
          }
          {
            const u = i64x2.shuffle(c03, c13, 0, 2);
            const v = i64x2.shuffle(c03, c13, 1, 3);
            const uh = v128.and(i16x8.shr_u(u, 4), m15);
            const ul = v128.and(u, m15);
            const vh = v128.and(i16x8.shr_u(v, 4), m15);
            const vl = v128.and(v, m15);
            let sL = i8x16.add(
              i8x16.swizzle(v128.load(t, 384), uh),
              i8x16.swizzle(v128.load(t, 416), ul),
            );
            let sH = i8x16.add(
              i8x16.swizzle(v128.load(t, 400), uh),
              i8x16.swizzle(v128.load(t, 432), ul),
            );
            sL = i8x16.add(
              sL,
              i8x16.add(i8x16.swizzle(v128.load(t, 448), vh), i8x16.swizzle(v128.load(t, 480), vl)),
            );
            sH = i8x16.add(
              sH,
              i8x16.add(i8x16.swizzle(v128.load(t, 464), vh), i8x16.swizzle(v128.load(t, 496), vl)),
            );
            aL0 = i16x8.add(aL0, i16x8.extend_low_i8x16_s(sL));
            aL1 = i16x8.add(aL1, i16x8.extend_high_i8x16_s(sL));
            aH0 = i16x8.add(aH0, i16x8.extend_low_i8x16_s(sH));
            aH1 = i16x8.add(aH1, i16x8.extend_high_i8x16_s(sH));
          }
          {
            const u = i64x2.shuffle(c04, c14, 0, 2);
            const v = i64x2.shuffle(c04, c14, 1, 3);
            const uh = v128.and(i16x8.shr_u(u, 4), m15);
            const ul = v128.and(u, m15);
            const vh = v128.and(i16x8.shr_u(v, 4), m15);
            const vl = v128.and(v, m15);
            let sL = i8x16.add(
              i8x16.swizzle(v128.load(t, 512), uh),
              i8x16.swizzle(v128.load(t, 544), ul),
            );
            let sH = i8x16.add(
              i8x16.swizzle(v128.load(t, 528), uh),
              i8x16.swizzle(v128.load(t, 560), ul),
            );
            sL = i8x16.add(
              sL,
              i8x16.add(i8x16.swizzle(v128.load(t, 576), vh), i8x16.swizzle(v128.load(t, 608), vl)),
            );
            sH = i8x16.add(
              sH,
              i8x16.add(i8x16.swizzle(v128.load(t, 592), vh), i8x16.swizzle(v128.load(t, 624), vl)),
            );
            aL0 = i16x8.add(aL0, i16x8.extend_low_i8x16_s(sL));
            aL1 = i16x8.add(aL1, i16x8.extend_high_i8x16_s(sL));
            aH0 = i16x8.add(aH0, i16x8.extend_low_i8x16_s(sH));
            aH1 = i16x8.add(aH1, i16x8.extend_high_i8x16_s(sH));
          }
          {
            const u = i64x2.shuffle(c05, c15, 0, 2);
            const v = i64x2.shuffle(c05, c15, 1, 3);
            const uh = v128.and(i16x8.shr_u(u, 4), m15);
            const ul = v128.and(u, m15);
            const vh = v128.and(i16x8.shr_u(v, 4), m15);
            const vl = v128.and(v, m15);
            let sL = i8x16.add(
              i8x16.swizzle(v128.load(t, 640), uh),
              i8x16.swizzle(v128.load(t, 672), ul),
            );
            let sH = i8x16.add(
              i8x16.swizzle(v128.load(t, 656), uh),
              i8x16.swizzle(v128.load(t, 688), ul),
            );
            sL = i8x16.add(
              sL,
              i8x16.add(i8x16.swizzle(v128.load(t, 704), vh), i8x16.swizzle(v128.load(t, 736), vl)),
            );
            sH = i8x16.add(
              sH,
              i8x16.add(i8x16.swizzle(v128.load(t, 720), vh), i8x16.swizzle(v128.load(t, 752), vl)),
            );
            aL0 = i16x8.add(aL0, i16x8.extend_low_i8x16_s(sL));
            aL1 = i16x8.add(aL1, i16x8.extend_high_i8x16_s(sL));
            aH0 = i16x8.add(aH0, i16x8.extend_low_i8x16_s(sH));
            aH1 = i16x8.add(aH1, i16x8.extend_high_i8x16_s(sH));
          }
          {
            const u = i64x2.shuffle(c06, c16, 0, 2);
            const v = i64x2.shuffle(c06, c16, 1, 3);
            const uh = v128.and(i16x8.shr_u(u, 4), m15);
            const ul = v128.and(u, m15);
            const vh = v128.and(i16x8.shr_u(v, 4), m15);
            const vl = v128.and(v, m15);
            let sL = i8x16.add(
              i8x16.swizzle(v128.load(t, 768), uh),
              i8x16.swizzle(v128.load(t, 800), ul),
            );
            let sH = i8x16.add(
              i8x16.swizzle(v128.load(t, 784), uh),
              i8x16.swizzle(v128.load(t, 816), ul),
            );
            sL = i8x16.add(
              sL,
              i8x16.add(i8x16.swizzle(v128.load(t, 832), vh), i8x16.swizzle(v128.load(t, 864), vl)),
            );
            sH = i8x16.add(
              sH,
              i8x16.add(i8x16.swizzle(v128.load(t, 848), vh), i8x16.swizzle(v128.load(t, 880), vl)),
            );
            aL0 = i16x8.add(aL0, i16x8.extend_low_i8x16_s(sL));
            aL1 = i16x8.add(aL1, i16x8.extend_high_i8x16_s(sL));
            aH0 = i16x8.add(aH0, i16x8.extend_low_i8x16_s(sH));
            aH1 = i16x8.add(aH1, i16x8.extend_high_i8x16_s(sH));
          }
          {
            const u = i64x2.shuffle(c07, c17, 0, 2);
            const v = i64x2.shuffle(c07, c17, 1, 3);
            const uh = v128.and(i16x8.shr_u(u, 4), m15);
            const ul = v128.and(u, m15);
            const vh = v128.and(i16x8.shr_u(v, 4), m15);
            const vl = v128.and(v, m15);
            let sL = i8x16.add(
              i8x16.swizzle(v128.load(t, 896), uh),
              i8x16.swizzle(v128.load(t, 928), ul),
            );
            let sH = i8x16.add(
              i8x16.swizzle(v128.load(t, 912), uh),
              i8x16.swizzle(v128.load(t, 944), ul),
            );
            sL = i8x16.add(
              sL,
              i8x16.add(i8x16.swizzle(v128.load(t, 960), vh), i8x16.swizzle(v128.load(t, 992), vl)),
            );
            sH = i8x16.add(
              sH,
              i8x16.add(
                i8x16.swizzle(v128.load(t, 976), vh),
                i8x16.swizzle(v128.load(t, 1008), vl),
              ),
            );
            aL0 = i16x8.add(aL0, i16x8.extend_low_i8x16_s(sL));
            aL1 = i16x8.add(aL1, i16x8.extend_high_i8x16_s(sL));
            aH0 = i16x8.add(aH0, i16x8.extend_low_i8x16_s(sH));
            aH1 = i16x8.add(aH1, i16x8.extend_high_i8x16_s(sH));
          }
        }
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
    const o = out + ((<usize>r) << 2);
    v128.store(o, i32x4.add(l0, i32x4.shl(h0, 4)));
    v128.store(o, i32x4.add(l1, i32x4.shl(h1, 4)), 16);
    v128.store(o, i32x4.add(l2, i32x4.shl(h2, 4)), 32);
    v128.store(o, i32x4.add(l3, i32x4.shl(h3, 4)), 48);
  }
}

/**
 * lut_dots_shipped's tables: per half-block and byte m (columns c = 128b + 16h + m), 64
 * bytes: the pair (c, c + 32) for x's low then high nibble, the pair (c + 64, c + 96)
 * likewise; entry 4·c0 + c1 holds (c0 − 1)·x0 + (c1 − 1)·x1. cols a multiple of 128.
 */
export function lut_tables_shipped(x: usize, cols: i32, tables: usize): void {
  for (let c = 0; c < cols; c++) {
    const b = c >> 7;
    const q = c & 127;
    if ((q & 127) >= 32) continue;
    const h = q >> 4;
    const m = q & 15;
    const t = tables + (((<usize>((b << 1) + h)) << 10) + ((<usize>m) << 6));
    for (let pair = 0; pair < 2; pair++) {
      const a = <i32>load<i8>(x + <usize>(c + 64 * pair));
      const e = <i32>load<i8>(x + <usize>(c + 64 * pair + 32));
      const tp = t + <usize>(pair << 5);
      for (let idx = 0; idx < 16; idx++) {
        const c0 = idx >> 2;
        const c1 = idx & 3;
        const ok = c0 < 3 && c1 < 3;
        store<i8>(tp + <usize>idx, ok ? <i8>((c0 - 1) * (a & 15) + (c1 - 1) * (e & 15)) : 0);
        store<i8>(tp + 16 + <usize>idx, ok ? <i8>((c0 - 1) * (a >> 4) + (c1 - 1) * (e >> 4)) : 0);
      }
    }
  }
}

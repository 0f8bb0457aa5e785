// Trit compute kernels (AssemblyScript → WebAssembly SIMD128, optionally relaxed SIMD).
//
// The module owns no data: every buffer lives in the imported memory and is laid out by
// the TypeScript side (src/engine/kernels/). Pointers are byte offsets (u32). Kernels
// that the thread pool splits take (rowBegin, rowEnd) as their first two arguments.
//
// Ternary weight layout: each row is padded to a multiple of 128 columns and cut into
// blocks of 32 bytes (I2_S's block): byte m (0..31) of block b holds the codes (w + 1,
// in {0, 1, 2}) of columns 128b + m + 32n at bits 7−2n..6−2n (n = 0..3). A 16-byte
// half-block k holds columns 128b + 16k + 32n + (0..15): one shift and one mask give 16
// codes that line up with 16 consecutive activations. Since codes are w + 1,
// dot(x, w) = dot(x, code) − sum(x); the caller passes sum(x).
// Rows come in groups of four (a matrix is padded with zero rows to a multiple of 4),
// and a group stores its rows' blocks interleaved: block b of row 4g + j at byte
// (4g)·stride + 128b + 32j, where stride = 32 · blocks is a row's size. The four rows
// a kernel pass reads are then one sequential stream (src/engine/kernels/pack.ts
// interleaves I2_S and TQ2_0 rows at load).
//
// Layouts measured (`npx tsx scripts/bench/browser.ts --kernels`: Chromium 156, one
// thread, 2560 × 6912 matvec over 106 MB of copies so weights stream from memory; G
// multiply-adds/s, medians of 7; shared 2-core AMD EPYC, ±15% run to run):
//   relaxed, i32 dot-add, 4 interleaved rows per pass                         67–72  kept*
//   relaxed, i16 pair sums (x86 pmaddubsw), 4 interleaved rows per pass       56–60  kept
//   relaxed, i32 dot-add, 4 rows per pass, rows one after another             48–54
//   relaxed, i16 pair sums, 4 rows per pass, rows one after another           43–51
//   relaxed, dot-add, fields cut by masks (fewer shifts, 3 sums per row)      46–57
//   relaxed, i32 dot-add, 1 row                                               33–35
//   lookup tables + i8x16.swizzle (T-MAC style, exact int8 tables, 16 rows)   21–23
//   SIMD128 (no relaxed), i16x8.extmul pairs, 4 rows per pass                 14–19  fallback
// * where the engine computes the dot-add exactly (see `dotAdd` below); else i16 pairs.
// Prefill (32 tokens, same matrix, one call over all rows): dot-add with a 2-row ×
// 4-token tile 89–96 (tokens outermost; rows outermost 88–91; rows one after another
// 93–99), i16 pairs with a 1-row × 4-token tile 73–80, SIMD128 22–23.
// The lookup tables would beat extmul for SIMD128-only engines (Safari) by ~1.25×, at the
// price of a second weight layout; not done. Candidates: wasm-kernels/assembly/candidates.ts.

// ---------------------------------------------------------------------------------------
// Ternary row dots

/** Sum of the four i32 lanes. */
// @ts-ignore: decorator
@inline function hsum(v: v128): i32 {
  return (
    i32x4.extract_lane(v, 0) +
    i32x4.extract_lane(v, 1) +
    i32x4.extract_lane(v, 2) +
    i32x4.extract_lane(v, 3)
  );
}

// Codes of columns +32n of a half-block. i16 shifts are native on x86 (i8 shifts are
// emulated); the mask drops the bits that cross from the neighbouring byte.
// @ts-ignore: decorator
@inline function codes(p: v128, n: i32): v128 {
  const m = i8x16.splat(3);
  return n == 3 ? v128.and(p, m) : v128.and(i16x8.shr_u(p, 6 - 2 * n), m);
}

/**
 * 16 int8 activations × 16 codes (0..2), summed in pairs into 8 i16 lanes (|·| ≤ 512).
 * Relaxed SIMD does it in one instruction (x86 pmaddubsw): codes fit the i7 operand.
 */
// @ts-ignore: decorator
@inline function mul16(x: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(x, c);
  return i16x8.add(i16x8.extmul_low_i8x16_s(x, c), i16x8.extmul_high_i8x16_s(x, c));
}

/** acc (i16 lanes) + products of a half-block with x[xo + 32n + 0..16), n = 0..3. */
// @ts-ignore: decorator
@inline function half(p: v128, xo: usize, acc: v128): v128 {
  acc = i16x8.add(acc, mul16(v128.load(xo), codes(p, 0)));
  acc = i16x8.add(acc, mul16(v128.load(xo, 32), codes(p, 1)));
  acc = i16x8.add(acc, mul16(v128.load(xo, 64), codes(p, 2)));
  return i16x8.add(acc, mul16(v128.load(xo, 96), codes(p, 3)));
}

// Products are summed in i16 lanes: a block adds 8 pair sums of |·| ≤ 512 to each lane,
// so 7 blocks (28672) stay below 2^15 before widening to i32.
const FLUSH_BLOCKS = 7;

/** Bytes from one block of a row to its next: four rows' blocks interleave. */
const BLOCK_STEP: usize = 128;

/** dot(x, code) for the row starting at w (blocks of 128 columns, BLOCK_STEP apart). */
// @ts-ignore: decorator
@inline function dot1(w: usize, x: usize, blocks: i32): i32 {
  let s = i32x4.splat(0);
  for (let start = 0; start < blocks; start += FLUSH_BLOCKS) {
    const end = min(start + FLUSH_BLOCKS, blocks);
    let a = i16x8.splat(0);
    for (let b = start; b < end; b++) {
      const wp = w + <usize>b * BLOCK_STEP;
      const xo = x + (<usize>b << 7);
      a = half(v128.load(wp), xo, a);
      a = half(v128.load(wp, 16), xo + 16, a);
    }
    s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_s(a));
  }
  return hsum(s);
}

/** dot(x, code) for the four rows of the group at g (activation loads shared); out[0..4). */
// @ts-ignore: decorator
@inline function dot4(g: usize, x: usize, blocks: i32, out: usize): void {
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
      const xo = x + (<usize>b << 7);
      a0 = half(v128.load(wp), xo, a0);
      a1 = half(v128.load(wp, 32), xo, a1);
      a2 = half(v128.load(wp, 64), xo, a2);
      a3 = half(v128.load(wp, 96), xo, a3);
      a0 = half(v128.load(wp, 16), xo + 16, a0);
      a1 = half(v128.load(wp, 48), xo + 16, a1);
      a2 = half(v128.load(wp, 80), xo + 16, a2);
      a3 = half(v128.load(wp, 112), xo + 16, a3);
    }
    s0 = i32x4.add(s0, i32x4.extadd_pairwise_i16x8_s(a0));
    s1 = i32x4.add(s1, i32x4.extadd_pairwise_i16x8_s(a1));
    s2 = i32x4.add(s2, i32x4.extadd_pairwise_i16x8_s(a2));
    s3 = i32x4.add(s3, i32x4.extadd_pairwise_i16x8_s(a3));
  }
  store<i32>(out, hsum(s0));
  store<i32>(out, hsum(s1), 4);
  store<i32>(out, hsum(s2), 8);
  store<i32>(out, hsum(s3), 12);
}

/**
 * dot(x_t, code) of one row for four tokens at once (the weight decode is shared);
 * writes the sums to out, out + os, out + 2·os, out + 3·os.
 */
// @ts-ignore: decorator
@inline function dotTokens4(w: usize, x0: usize, xs: usize, blocks: i32, out: usize, os: usize): void {
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
      const xo = <usize>b << 7;
      // unrolled by hand: the shifts must be constants to compile to one instruction
      const p0 = v128.load(wp);
      const p1 = v128.load(wp, 16);
      let c = codes(p0, 0);
      a0 = i16x8.add(a0, mul16(v128.load(x0 + xo), c));
      a1 = i16x8.add(a1, mul16(v128.load(x1 + xo), c));
      a2 = i16x8.add(a2, mul16(v128.load(x2 + xo), c));
      a3 = i16x8.add(a3, mul16(v128.load(x3 + xo), c));
      c = codes(p0, 1);
      a0 = i16x8.add(a0, mul16(v128.load(x0 + xo, 32), c));
      a1 = i16x8.add(a1, mul16(v128.load(x1 + xo, 32), c));
      a2 = i16x8.add(a2, mul16(v128.load(x2 + xo, 32), c));
      a3 = i16x8.add(a3, mul16(v128.load(x3 + xo, 32), c));
      c = codes(p0, 2);
      a0 = i16x8.add(a0, mul16(v128.load(x0 + xo, 64), c));
      a1 = i16x8.add(a1, mul16(v128.load(x1 + xo, 64), c));
      a2 = i16x8.add(a2, mul16(v128.load(x2 + xo, 64), c));
      a3 = i16x8.add(a3, mul16(v128.load(x3 + xo, 64), c));
      c = codes(p0, 3);
      a0 = i16x8.add(a0, mul16(v128.load(x0 + xo, 96), c));
      a1 = i16x8.add(a1, mul16(v128.load(x1 + xo, 96), c));
      a2 = i16x8.add(a2, mul16(v128.load(x2 + xo, 96), c));
      a3 = i16x8.add(a3, mul16(v128.load(x3 + xo, 96), c));
      c = codes(p1, 0);
      a0 = i16x8.add(a0, mul16(v128.load(x0 + xo, 16), c));
      a1 = i16x8.add(a1, mul16(v128.load(x1 + xo, 16), c));
      a2 = i16x8.add(a2, mul16(v128.load(x2 + xo, 16), c));
      a3 = i16x8.add(a3, mul16(v128.load(x3 + xo, 16), c));
      c = codes(p1, 1);
      a0 = i16x8.add(a0, mul16(v128.load(x0 + xo, 48), c));
      a1 = i16x8.add(a1, mul16(v128.load(x1 + xo, 48), c));
      a2 = i16x8.add(a2, mul16(v128.load(x2 + xo, 48), c));
      a3 = i16x8.add(a3, mul16(v128.load(x3 + xo, 48), c));
      c = codes(p1, 2);
      a0 = i16x8.add(a0, mul16(v128.load(x0 + xo, 80), c));
      a1 = i16x8.add(a1, mul16(v128.load(x1 + xo, 80), c));
      a2 = i16x8.add(a2, mul16(v128.load(x2 + xo, 80), c));
      a3 = i16x8.add(a3, mul16(v128.load(x3 + xo, 80), c));
      c = codes(p1, 3);
      a0 = i16x8.add(a0, mul16(v128.load(x0 + xo, 112), c));
      a1 = i16x8.add(a1, mul16(v128.load(x1 + xo, 112), c));
      a2 = i16x8.add(a2, mul16(v128.load(x2 + xo, 112), c));
      a3 = i16x8.add(a3, mul16(v128.load(x3 + xo, 112), c));
    }
    s0 = i32x4.add(s0, i32x4.extadd_pairwise_i16x8_s(a0));
    s1 = i32x4.add(s1, i32x4.extadd_pairwise_i16x8_s(a1));
    s2 = i32x4.add(s2, i32x4.extadd_pairwise_i16x8_s(a2));
    s3 = i32x4.add(s3, i32x4.extadd_pairwise_i16x8_s(a3));
  }
  store<i32>(out, hsum(s0));
  store<i32>(out + os, hsum(s1));
  store<i32>(out + 2 * os, hsum(s2));
  store<i32>(out + 3 * os, hsum(s3));
}

// Relaxed SIMD's i32x4.relaxed_dot_i8x16_i7x16_add_s multiplies, sums in fours and
// accumulates in one operation (made to map onto x86 AVX-VNNI's vpdpbusd): no i16 sums
// to add and widen.
// The engine uses it only where it computes exactly (Node 20's baseline compiler drops
// the accumulator): the kernels take `dotAdd` from src/engine/kernels/loader.ts's probe.

/** acc (i32 lanes) + products of a half-block with x[xo + 32n + 0..16), n = 0..3. */
// @ts-ignore: decorator
@inline function halfAdd(p: v128, xo: usize, acc: v128): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return acc;
  acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo), codes(p, 0), acc);
  acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo, 32), codes(p, 1), acc);
  acc = i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo, 64), codes(p, 2), acc);
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xo, 96), codes(p, 3), acc);
}

/** dot4 with dot-add: two accumulators per row (one per half-block) to overlap latency. */
// @ts-ignore: decorator
@inline function dot4Add(g: usize, x: usize, blocks: i32, out: usize): void {
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
    const xo = x + (<usize>b << 7);
    a0 = halfAdd(v128.load(wp), xo, a0);
    a1 = halfAdd(v128.load(wp, 32), xo, a1);
    a2 = halfAdd(v128.load(wp, 64), xo, a2);
    a3 = halfAdd(v128.load(wp, 96), xo, a3);
    b0 = halfAdd(v128.load(wp, 16), xo + 16, b0);
    b1 = halfAdd(v128.load(wp, 48), xo + 16, b1);
    b2 = halfAdd(v128.load(wp, 80), xo + 16, b2);
    b3 = halfAdd(v128.load(wp, 112), xo + 16, b3);
  }
  store<i32>(out, hsum(i32x4.add(a0, b0)));
  store<i32>(out, hsum(i32x4.add(a1, b1)), 4);
  store<i32>(out, hsum(i32x4.add(a2, b2)), 8);
  store<i32>(out, hsum(i32x4.add(a3, b3)), 12);
}

/**
 * Prefill with dot-add: two rows (w, w + 32) × four tokens per pass, each code vector
 * used four times and each activation load twice; writes out + j·4 + t·os (j = row).
 * The n loop stays a loop (shift by a variable count): unrolled by hand it measured 61
 * against 99 G MAC/s.
 */
// @ts-ignore: decorator
@inline function dotRows2Tokens4Add(
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
    const xb = <usize>b << 7;
    for (let h: usize = 0; h < 32; h += 16) {
      const p = v128.load(wp + h);
      const q = v128.load(wp + h, 32);
      for (let n = 0; n < 4; n++) {
        const c = codes(p, n);
        const e = codes(q, n);
        const xo = xb + h + (<usize>n << 5);
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
  store<i32>(out, hsum(a0));
  store<i32>(out + os, hsum(a1));
  store<i32>(out + 2 * os, hsum(a2));
  store<i32>(out + 3 * os, hsum(a3));
  store<i32>(out, hsum(b0), 4);
  store<i32>(out + os, hsum(b1), 4);
  store<i32>(out + 2 * os, hsum(b2), 4);
  store<i32>(out + 3 * os, hsum(b3), 4);
}

/**
 * Exact integer dots of rows [rowBegin, rowEnd) (multiples of 4) of a packed ternary
 * matrix with int8 activations xq (zero-padded to blocks × 128): out[r] = Σ w[r][c]·xq[c].
 * `stride` is the packed row length in bytes (blocks × 32); xSum is Σ xq. dotAdd: 1 to
 * use the relaxed i32 dot-add (ignored by the SIMD128 build).
 */
export function ternary_dots(
  rowBegin: i32,
  rowEnd: i32,
  w: usize,
  stride: i32,
  xq: usize,
  xSum: i32,
  out: usize,
  dotAdd: i32,
): void {
  const blocks = stride >> 5;
  const s = <usize>stride;
  const useDotAdd = ASC_FEATURE_RELAXED_SIMD && dotAdd != 0;
  for (let r = rowBegin; r < rowEnd; r += 4) {
    const o = out + (<usize>r << 2);
    if (useDotAdd) dot4Add(w + <usize>r * s, xq, blocks, o);
    else dot4(w + <usize>r * s, xq, blocks, o);
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
 * apart; xSums holds one i32 per token. Writes out[t · outStride + r].
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
  dotAdd: i32,
): void {
  const blocks = stride >> 5;
  const xs = <usize>xStride;
  const os = <usize>outStride << 2;
  const s = <usize>stride;
  // Tokens in fours outermost: their activations stay in L1 while the chunk's rows
  // stream from L2 (rows outermost re-read all tokens' activations for every group).
  let t = 0;
  for (; t + 4 <= tokens; t += 4) {
    const x = xq + <usize>t * xs;
    for (let r = rowBegin; r < rowEnd; r += 4) {
      const g = w + <usize>r * s;
      const o = out + (<usize>r << 2) + <usize>t * os;
      if (ASC_FEATURE_RELAXED_SIMD && dotAdd != 0) {
        dotRows2Tokens4Add(g, x, xs, blocks, o, os);
        dotRows2Tokens4Add(g + 64, x, xs, blocks, o + 8, os);
      } else {
        for (let j: usize = 0; j < 4; j++) dotTokens4(g + (j << 5), x, xs, blocks, o + (j << 2), os);
      }
    }
  }
  for (; t < tokens; t++) {
    const x = xq + <usize>t * xs;
    for (let r = rowBegin; r < rowEnd; r += 4) {
      const g = w + <usize>r * s;
      const o = out + (<usize>r << 2) + <usize>t * os;
      for (let j: usize = 0; j < 4; j++) store<i32>(o + (j << 2), dot1(g + (j << 5), x, blocks));
    }
  }
  for (let u = 0; u < tokens; u++) {
    const xSum = load<i32>(xSums + (<usize>u << 2));
    const p = out + <usize>u * os;
    for (let r = rowBegin; r < rowEnd; r++) {
      const q = p + (<usize>r << 2);
      store<i32>(q, load<i32>(q) - xSum);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Output head (tied embeddings): logits[r] = Σ head[r][c] · x[c]

/** f32 head rows [rowBegin, rowEnd); cols a multiple of 16. */
export function head_f32(rowBegin: i32, rowEnd: i32, w: usize, cols: i32, x: usize, out: usize): void {
  const rowBytes = <usize>cols << 2;
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
      out + (<usize>r << 2),
      f32x4.extract_lane(a, 0) +
        f32x4.extract_lane(a, 1) +
        (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3)),
    );
  }
}

/**
 * Eight f16 values (raw bits) as two f32x4 scaled by 2^-112, exactly: the high half of
 * each f32 is (h >> 3 arithmetic) & 0x8fff (sign, three zero bits, the 5-bit exponent,
 * the top 7 mantissa bits), the low half h << 13 (the last 3 mantissa bits); two
 * interleaves put them together (subnormals come out right). The 2^112 that re-biases
 * the exponent is folded into x by prep_head_f16 instead of a multiply per weight.
 * Infinities and NaNs are not handled (weights have none).
 * (One op fewer per 8 than sign-extending to i32 first: 10–10.5 vs 8.7 G MAC/s, Chromium.)
 */
// @ts-ignore: decorator
@inline function halvesLo(h: v128): v128 {
  const hi = v128.and(i16x8.shr_s(h, 3), i16x8.splat(<i16>0x8fff));
  return i16x8.shuffle(i16x8.shl(h, 13), hi, 0, 8, 1, 9, 2, 10, 3, 11);
}
// @ts-ignore: decorator
@inline function halvesHi(h: v128): v128 {
  const hi = v128.and(i16x8.shr_s(h, 3), i16x8.splat(<i16>0x8fff));
  return i16x8.shuffle(i16x8.shl(h, 13), hi, 4, 12, 5, 13, 6, 14, 7, 15);
}

/**
 * head_f16's input: out = x · 2^k (n f32), k = 112 unless some |x| ≥ 2^15 (then smaller,
 * so that nothing overflows). Returns 2^(112 − k), the factor head_f16 applies to each
 * sum. Since x·2^k times w·2^-112 is x·w·2^(k−112), a power of two, each product rounds
 * exactly as x·w does: the logits are those of plain f32 arithmetic.
 */
export function prep_head_f16(out: usize, x: usize, n: i32): f64 {
  let maxAbs: f32 = 0;
  for (let i = 0; i < n; i++) maxAbs = max(maxAbs, abs(load<f32>(x + (<usize>i << 2))));
  let k = 112;
  while (k > 0 && <f64>maxAbs * Math.pow(2, k) >= 1.0e38) k--;
  const scale = <f32>Math.pow(2, k);
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(x + o) * scale);
  }
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
  const rowBytes = <usize>cols << 1;
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
      const f0 = halvesLo(h0);
      const f1 = halvesHi(h0);
      const f2 = halvesLo(h1);
      const f3 = halvesHi(h1);
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
    store<f32>(out + (<usize>r << 2), sum * back);
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
    const d = hsum(i32x4.add(a0, a1));
    store<f32>(
      out + (<usize>r << 2),
      <f32>((<f64>d * <f64>load<f32>(rowScales + (<usize>r << 2))) / xScale),
    );
  }
}

// ---------------------------------------------------------------------------------------
// Small per-token ops. They run in f64 like the TypeScript reference, so the values that
// feed the integer kernels (and so the greedy tokens) match it bit for bit where possible.

// f32 lanes 0–1 and 2–3 as f64x2, and back: elementwise f64 arithmetic in SIMD gives
// exactly the scalar (and the reference's) results.
// @ts-ignore: decorator
@inline function lo64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
// @ts-ignore: decorator
@inline function hi64(v: v128): v128 {
  return f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0));
}
// @ts-ignore: decorator
@inline function join32(lo: v128, hi: v128): v128 {
  return i64x2.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2);
}

/**
 * out = x / rms(x) · weight (f32 arrays of n). out may alias x. The sum of squares runs
 * in order, like the reference, so that the result is bit for bit the same.
 */
export function rms_norm(out: usize, x: usize, weight: usize, n: i32, eps: f64): void {
  let ss: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    ss += v * v;
  }
  const inv = 1 / Math.sqrt(ss / <f64>n + eps);
  const inv2 = f64x2.splat(inv);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const xv = v128.load(x + o);
    const wv = v128.load(weight + o);
    const lo = f64x2.mul(f64x2.mul(lo64(xv), inv2), lo64(wv));
    const hi = f64x2.mul(f64x2.mul(hi64(xv), inv2), hi64(wv));
    v128.store(out + o, join32(lo, hi));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, <f32>(<f64>load<f32>(x + o) * inv * <f64>load<f32>(weight + o)));
  }
}

/** Four f32 lanes × scale in f32, rounded ties-to-even (as torch.round), as four i32 lanes. */
// @ts-ignore: decorator
@inline function quant4(v: v128, s: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v, s)));
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
  for (; i + 4 <= n; i += 4) m4 = f32x4.pmax(m4, f32x4.abs(v128.load(x + (<usize>i << 2))));
  let maxAbs: f32 = max(
    max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)),
    max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)),
  );
  for (; i < n; i++) maxAbs = max(maxAbs, abs(load<f32>(x + (<usize>i << 2))));
  const scale: f32 = <f32>127 / max(maxAbs, <f32>1e-5);
  const s = f32x4.splat(scale);
  let sum4 = i32x4.splat(0);
  i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const q0 = quant4(v128.load(p), s);
    const q1 = quant4(v128.load(p, 16), s);
    const q2 = quant4(v128.load(p, 32), s);
    const q3 = quant4(v128.load(p, 48), s);
    sum4 = i32x4.add(sum4, i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)));
    v128.store(
      out + <usize>i,
      i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)),
    );
  }
  let sum: i32 = hsum(sum4);
  for (; i < n; i++) {
    const q = <i32>min<f32>(127, max<f32>(-128, nearest<f32>(load<f32>(x + (<usize>i << 2)) * scale)));
    store<i8>(out + <usize>i, <i8>q);
    sum += q;
  }
  for (let j = n; j < padTo; j++) store<i8>(out + <usize>j, 0);
  store<i32>(sumOut, sum);
  return scale;
}

/** head_i8's activation forms of n int8 values x: n i16, then n |x| bytes, n sign masks. */
export function prep_head_i8(out: usize, x: usize, n: i32): void {
  const abs = out + (<usize>n << 1);
  const sign = abs + <usize>n;
  for (let i = 0; i < n; i++) {
    const v = <i32>load<i8>(x + <usize>i);
    store<i16>(out + (<usize>i << 1), <i16>v);
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
    const o = <usize>(t * n) << 2;
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
    const xScale = load<f64>(xScales + (<usize>t << 3));
    scale_dots(out + (<usize>(t * n) << 2), dots + (<usize>(t * dotsStride) << 2), n, wScale, xScale);
  }
}

/** out[i] = f32(dots[i] · wScale / xScale): the reference's scaling, in f64. */
export function scale_dots(out: usize, dots: usize, n: i32, wScale: f64, xScale: f64): void {
  const w2 = f64x2.splat(wScale);
  const x2 = f64x2.splat(xScale);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = v128.load(dots + (<usize>i << 2));
    const lo = f32x4.demote_f64x2_zero(f64x2.div(f64x2.mul(f64x2.convert_low_i32x4_s(d), w2), x2));
    const hi = f32x4.demote_f64x2_zero(
      f64x2.div(f64x2.mul(f64x2.convert_low_i32x4_s(i64x2.shuffle(d, d, 1, 0)), w2), x2),
    );
    v128.store(out + (<usize>i << 2), i64x2.shuffle(lo, hi, 0, 2));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, <f32>((<f64>load<i32>(dots + o) * wScale) / xScale));
  }
}

/**
 * NEOX RoPE in place on `heads` heads of headDim; cosSin holds headDim/2 cosines then
 * headDim/2 sines (f64) for this position, computed by the caller.
 */
export function rope(x: usize, heads: i32, headDim: i32, cosSin: usize): void {
  const half = headDim >> 1;
  for (let h = 0; h < heads; h++) {
    const base = x + (<usize>(h * headDim) << 2);
    for (let i = 0; i < half; i++) {
      const c = load<f64>(cosSin + (<usize>i << 3));
      const s = load<f64>(cosSin + (<usize>(i + half) << 3));
      const pa = base + (<usize>i << 2);
      const pb = base + (<usize>(i + half) << 2);
      const a = <f64>load<f32>(pa);
      const b = <f64>load<f32>(pb);
      store<f32>(pa, <f32>(a * c - b * s));
      store<f32>(pb, <f32>(a * s + b * c));
    }
  }
}

/**
 * e^x for four f32 lanes, x ≤ 88 (Cephes expf: x = n·ln 2 + r, |r| ≤ ln 2 / 2, a degree-6
 * polynomial for e^r, 2^n put into the exponent bits): about 2 ulp (Cephes's bound);
 * below −87 it returns about 1e-38 instead of 0 (softmax inputs are ≤ 0: harmless).
 * Math.exp works one f64 at a time.
 */
// @ts-ignore: decorator
@inline function exp4(x: v128): v128 {
  x = f32x4.pmax(x, f32x4.splat(-87.0)); // one instruction, unlike max (see quantize)
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  // ln 2 in two parts, so that n · ln2Hi is exact
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2n);
}

/**
 * x = e^(x − max x) in place over n f32 values; returns their sum (f64, in order, like
 * the reference).
 */
function expShifted(x: usize, n: i32): f64 {
  let m4 = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) m4 = f32x4.pmax(m4, v128.load(x + (<usize>i << 2)));
  let m = max(
    max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)),
    max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)),
  );
  for (; i < n; i++) m = max(m, load<f32>(x + (<usize>i << 2)));
  const mv = f32x4.splat(m);
  let sum: f64 = 0;
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2);
    const e = exp4(f32x4.sub(v128.load(p), mv));
    v128.store(p, e);
    sum += <f64>f32x4.extract_lane(e, 0);
    sum += <f64>f32x4.extract_lane(e, 1);
    sum += <f64>f32x4.extract_lane(e, 2);
    sum += <f64>f32x4.extract_lane(e, 3);
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(p) - m)), 0);
    store<f32>(p, e);
    sum += <f64>e;
  }
  return sum;
}

/** In-place softmax over n f32 values (f64 sum). */
export function softmax(x: usize, n: i32): void {
  const sum = expShifted(x, n);
  for (let i = 0; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, <f32>(<f64>load<f32>(p) / sum));
  }
}

/** Sum of the four f32 lanes. */
// @ts-ignore: decorator
@inline function hsumF(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
}

/**
 * acc + a · b: fused (one rounding) in the relaxed build where the CPU has FMA, which
 * halves attention's arithmetic; twice rounded in SIMD128.
 */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** Positions per tile: a tile of keys (or values) stays in L1 while each head of a set reads it. */
const TILE = 32;

/** sc[t] = (q · k_t) · invSqrt for positions [t0, t1) of one KV head's keys kg. */
// @ts-ignore: decorator
@inline function scoreRange(qh: usize, kg: usize, hd: usize, t0: i32, t1: i32, sc: usize, invSqrt: f32): void {
  let t = t0;
  // eight positions per pass: eight independent sums (one position's is a chain of adds)
  for (; t + 8 <= t1; t += 8) {
    const k0 = kg + <usize>t * hd;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let a4 = f32x4.splat(0);
    let a5 = f32x4.splat(0);
    let a6 = f32x4.splat(0);
    let a7 = f32x4.splat(0);
    for (let i: usize = 0; i < hd; i += 16) {
      const qv = v128.load(qh + i);
      const kp = k0 + i;
      a0 = madd(qv, v128.load(kp), a0);
      a1 = madd(qv, v128.load(kp + hd), a1);
      a2 = madd(qv, v128.load(kp + 2 * hd), a2);
      a3 = madd(qv, v128.load(kp + 3 * hd), a3);
      a4 = madd(qv, v128.load(kp + 4 * hd), a4);
      a5 = madd(qv, v128.load(kp + 5 * hd), a5);
      a6 = madd(qv, v128.load(kp + 6 * hd), a6);
      a7 = madd(qv, v128.load(kp + 7 * hd), a7);
    }
    const o = sc + (<usize>t << 2);
    store<f32>(o, hsumF(a0) * invSqrt);
    store<f32>(o, hsumF(a1) * invSqrt, 4);
    store<f32>(o, hsumF(a2) * invSqrt, 8);
    store<f32>(o, hsumF(a3) * invSqrt, 12);
    store<f32>(o, hsumF(a4) * invSqrt, 16);
    store<f32>(o, hsumF(a5) * invSqrt, 20);
    store<f32>(o, hsumF(a6) * invSqrt, 24);
    store<f32>(o, hsumF(a7) * invSqrt, 28);
  }
  for (; t < t1; t++) {
    const kp = kg + <usize>t * hd;
    let a = f32x4.splat(0);
    for (let i: usize = 0; i < hd; i += 16) a = madd(v128.load(qh + i), v128.load(kp + i), a);
    store<f32>(sc + (<usize>t << 2), hsumF(a) * invSqrt);
  }
}

/**
 * oh += Σ p_t · v_t over positions [t0, t1) of one KV head's values vg (p_t = sc[t]); the
 * first tile starts from zero. 32 outputs (8 vectors) at a time stay in registers.
 */
// @ts-ignore: decorator
@inline function valueRange(sc: usize, vg: usize, hd: usize, t0: i32, t1: i32, oh: usize): void {
  const first = t0 == 0;
  let i: usize = 0;
  for (; i + 128 <= hd; i += 128) {
    const op = oh + i;
    const zero = f32x4.splat(0);
    let o0 = first ? zero : v128.load(op);
    let o1 = first ? zero : v128.load(op, 16);
    let o2 = first ? zero : v128.load(op, 32);
    let o3 = first ? zero : v128.load(op, 48);
    let o4 = first ? zero : v128.load(op, 64);
    let o5 = first ? zero : v128.load(op, 80);
    let o6 = first ? zero : v128.load(op, 96);
    let o7 = first ? zero : v128.load(op, 112);
    let vp = vg + <usize>t0 * hd + i;
    for (let u = t0; u < t1; u++) {
      const p = f32x4.splat(load<f32>(sc + (<usize>u << 2)));
      o0 = madd(p, v128.load(vp), o0);
      o1 = madd(p, v128.load(vp, 16), o1);
      o2 = madd(p, v128.load(vp, 32), o2);
      o3 = madd(p, v128.load(vp, 48), o3);
      o4 = madd(p, v128.load(vp, 64), o4);
      o5 = madd(p, v128.load(vp, 80), o5);
      o6 = madd(p, v128.load(vp, 96), o6);
      o7 = madd(p, v128.load(vp, 112), o7);
      vp += hd;
    }
    v128.store(op, o0);
    v128.store(op, o1, 16);
    v128.store(op, o2, 32);
    v128.store(op, o3, 48);
    v128.store(op, o4, 64);
    v128.store(op, o5, 80);
    v128.store(op, o6, 96);
    v128.store(op, o7, 112);
  }
  for (; i < hd; i += 16) {
    let o0 = first ? f32x4.splat(0) : v128.load(oh + i);
    let vp = vg + <usize>t0 * hd + i;
    for (let u = t0; u < t1; u++) {
      o0 = madd(f32x4.splat(load<f32>(sc + (<usize>u << 2))), v128.load(vp), o0);
      vp += hd;
    }
    v128.store(oh + i, o0);
  }
}

/** x[0..n) ×= s (n a multiple of 4). */
// @ts-ignore: decorator
@inline function scaleInPlace(x: usize, n: usize, s: f32): void {
  const sv = f32x4.splat(s);
  for (let i: usize = 0; i < n << 2; i += 16) v128.store(x + i, f32x4.mul(v128.load(x + i), sv));
}

/**
 * Causal GQA attention for one query over cache positions 0..pos, heads [headBegin,
 * headEnd). Caches are [kvHead][capacity][headDim] f32, so that a head's keys and values
 * are each one stream; scores needs pos + 1 f32 per head (scratch, scores + h · capacity).
 * headDim a multiple of 4.
 * The heads sharing a KV head go through its keys and values together, a tile of
 * positions at a time, so that each tile comes from memory once for up to four heads
 * (one head at a time: 21 ms a token for 30 layers at 1040 positions on one thread in
 * Node; together: 16–18). Against the first version (one position per pass, outputs in
 * memory: 88 µs a layer at 96 positions), eight scores per pass and 32 outputs held in
 * registers take 40–60 µs.
 */
export function attention(
  headBegin: i32,
  headEnd: i32,
  out: usize,
  q: usize,
  keys: usize,
  values: usize,
  pos: i32,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  scores: usize,
  capacity: i32,
): void {
  const group = heads / kvHeads;
  const invSqrt = <f32>(1 / Math.sqrt(<f64>headDim));
  const hd = <usize>headDim << 2;
  const scoreBytes = <usize>capacity << 2;
  const n = pos + 1;
  let h0 = headBegin;
  while (h0 < headEnd) {
    // a set: up to four heads of one KV group
    const g = h0 / group;
    const h1 = min(headEnd, min((g + 1) * group, h0 + 4));
    const kg = keys + <usize>g * <usize>capacity * hd;
    const vg = values + <usize>g * <usize>capacity * hd;
    for (let t0 = 0; t0 < n; t0 += TILE) {
      const t1 = min(n, t0 + TILE);
      for (let h = h0; h < h1; h++) {
        scoreRange(q + <usize>h * hd, kg, hd, t0, t1, scores + <usize>h * scoreBytes, invSqrt);
      }
    }
    // softmax numerators; out = Σ e_t · v_t / Σ e_t
    let inv0: f32 = 0;
    let inv1: f32 = 0;
    let inv2: f32 = 0;
    let inv3: f32 = 0;
    for (let h = h0; h < h1; h++) {
      const inv = <f32>(1 / expShifted(scores + <usize>h * scoreBytes, n));
      const j = h - h0;
      if (j == 0) inv0 = inv;
      else if (j == 1) inv1 = inv;
      else if (j == 2) inv2 = inv;
      else inv3 = inv;
    }
    for (let t0 = 0; t0 < n; t0 += TILE) {
      const t1 = min(n, t0 + TILE);
      for (let h = h0; h < h1; h++) {
        valueRange(scores + <usize>h * scoreBytes, vg, hd, t0, t1, out + <usize>h * hd);
      }
    }
    for (let h = h0; h < h1; h++) {
      const j = h - h0;
      const inv = j == 0 ? inv0 : j == 1 ? inv1 : j == 2 ? inv2 : inv3;
      scaleInPlace(out + <usize>h * hd, <usize>headDim, inv);
    }
    h0 = h1;
  }
}

/**
 * attention() for `tokens` consecutive queries at positions pos0.., heads [headBegin,
 * headEnd): prefill runs a layer's attention in one call. q and out advance qStride
 * floats per token.
 */
export function attention_tokens(
  headBegin: i32,
  headEnd: i32,
  out: usize,
  q: usize,
  keys: usize,
  values: usize,
  pos0: i32,
  tokens: i32,
  qStride: i32,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  scores: usize,
  capacity: i32,
): void {
  for (let t = 0; t < tokens; t++) {
    const o = <usize>(t * qStride) << 2;
    attention(headBegin, headEnd, out + o, q + o, keys, values, pos0 + t, heads, kvHeads, headDim, scores, capacity);
  }
}

/**
 * Per token t of [tokenBegin, tokenEnd) (the pool splits prefill batches by token): RoPE on
 * q_t (heads) and k_t (kvHeads), then k_t and v_t stored in the caches (see attention)
 * at position pos0 + t. q, k, v advance heads·headDim, kvHeads·headDim, kvHeads·headDim
 * floats per token; cosSin holds headDim f64 per token (see rope).
 */
export function rope_cache_tokens(
  tokenBegin: i32,
  tokenEnd: i32,
  q: usize,
  k: usize,
  v: usize,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  cosSin: usize,
  keyCache: usize,
  valueCache: usize,
  pos0: i32,
  capacity: i32,
): void {
  const hd = <usize>headDim << 2;
  const qBytes = <usize>heads * hd;
  const kvBytes = <usize>kvHeads * hd;
  for (let t = tokenBegin; t < tokenEnd; t++) {
    const at = <usize>t;
    const cs = cosSin + ((at * <usize>headDim) << 3);
    const kt = k + at * kvBytes;
    const vt = v + at * kvBytes;
    rope(q + at * qBytes, heads, headDim, cs);
    rope(kt, kvHeads, headDim, cs);
    for (let g = 0; g < kvHeads; g++) {
      const c = (<usize>g * <usize>capacity + <usize>(pos0 + t)) * hd;
      memory.copy(keyCache + c, kt + <usize>g * hd, hd);
      memory.copy(valueCache + c, vt + <usize>g * hd, hd);
    }
  }
}

/**
 * The FFN's gate for tokens [tokenBegin, tokenEnd): out_t = act(gate_t) · up_t over n f32
 * each (relu² when relu2 ≠ 0, else SiLU); the three advance n floats per token.
 */
export function gate_tokens(
  tokenBegin: i32,
  tokenEnd: i32,
  out: usize,
  gate: usize,
  up: usize,
  n: i32,
  relu2: i32,
): void {
  const begin = <usize>(tokenBegin * n) << 2;
  const count = (tokenEnd - tokenBegin) * n;
  if (relu2 != 0) relu2_gate(out + begin, gate + begin, up + begin, count);
  else silu_gate(out + begin, gate + begin, up + begin, count);
}

/** out = relu(gate)² · up over n f32 (f64 arithmetic like the reference). */
export function relu2_gate(out: usize, gate: usize, up: usize, n: i32): void {
  const zero = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(gate + o);
    const u = v128.load(up + o);
    const glo = f64x2.max(lo64(g), zero);
    const ghi = f64x2.max(hi64(g), zero);
    v128.store(out + o, join32(f64x2.mul(f64x2.mul(glo, glo), lo64(u)), f64x2.mul(f64x2.mul(ghi, ghi), hi64(u))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = Math.max(<f64>load<f32>(gate + o), 0);
    store<f32>(out + o, <f32>(g * g * <f64>load<f32>(up + o)));
  }
}

/**
 * out = silu(gate) · up over n f32 (llama.cpp's plain `bitnet` FFN): e^−g from exp4 (f32,
 * 2 ulp), the rest in f64, so each output is within a few ulp of the reference's (with
 * scalar Math.exp this took 4 ns a value: 3% of a prefill).
 */
export function silu_gate(out: usize, gate: usize, up: usize, n: i32): void {
  const one = f64x2.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(gate + o);
    // e^−g; min keeps exp4's 2^n in range (silu is −0 there anyway)
    const e = exp4(f32x4.pmin(f32x4.neg(g), f32x4.splat(88)));
    const u = v128.load(up + o);
    const lo = f64x2.mul(f64x2.div(lo64(g), f64x2.add(one, lo64(e))), lo64(u));
    const hi = f64x2.mul(f64x2.div(hi64(g), f64x2.add(one, hi64(e))), hi64(u));
    v128.store(out + o, join32(lo, hi));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = <f64>load<f32>(gate + o);
    store<f32>(out + o, <f32>((g / (1 + Math.exp(-g))) * <f64>load<f32>(up + o)));
  }
}

/** x += y over n f32. */
export function add_into(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.add(v128.load(x + o), v128.load(y + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, load<f32>(x + o) + load<f32>(y + o));
  }
}

/**
 * Memory read bandwidth probe (the benchmark's roofline): reads chunks [chunkBegin,
 * chunkEnd) of 64 KiB from base with v128 loads; the xor of each chunk goes to
 * out + 16 · chunk so that the loads cannot be dropped.
 */
export function stream_read(chunkBegin: i32, chunkEnd: i32, base: usize, out: usize): void {
  for (let c = chunkBegin; c < chunkEnd; c++) {
    const p = base + (<usize>c << 16);
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    for (let i: usize = 0; i < 65536; i += 64) {
      a0 = v128.xor(a0, v128.load(p + i));
      a1 = v128.xor(a1, v128.load(p + i, 16));
      a2 = v128.xor(a2, v128.load(p + i, 32));
      a3 = v128.xor(a3, v128.load(p + i, 48));
    }
    v128.store(out + (<usize>c << 4), v128.xor(v128.xor(a0, a1), v128.xor(a2, a3)));
  }
}

// Attention: RoPE, softmax and grouped-query attention over the KV cache.

import { Lanes } from "./lanes";

/** Positions per tile: a tile of keys (or values) stays in L1 while each head of a set reads it. */
const TILE = 32;

class AttentionTiles {
  /** Sum of the four f32 lanes. */
  @inline static hsumF(a: v128): f32 {
    return (
      f32x4.extract_lane(a, 0) +
      f32x4.extract_lane(a, 1) +
      (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3))
    );
  }

  /**
   * acc + a · b: fused (one rounding) in the relaxed build where the CPU has FMA, which
   * halves attention's arithmetic; twice rounded in SIMD128.
   */
  @inline static madd(a: v128, b: v128, acc: v128): v128 {
    if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
    return f32x4.add(acc, f32x4.mul(a, b));
  }

  /**
   * Four cached values at p as f32 lanes: K = f32, or u16 for bf16 (a bf16 is an f32's
   * upper 16 bits: a widening load and a shift, where a two-input byte shuffle cost more
   * than the halved bytes saved). The tiles below are written once for both formats; this
   * load is their one difference.
   */
  @inline static load4<K>(p: usize): v128 {
    if (sizeof<K>() === 2) return i32x4.shl(v128.load16x4_u(p), 16);
    return v128.load(p);
  }

  /**
   * [hsumF(a), hsumF(b), hsumF(c), hsumF(d)] with the same additions, ((x0 + x1) + (x2 + x3)),
   * lane-parallel: three adds and six shuffles for four positions.
   */
  @inline static hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
    // ab = [a0 + a1, b0 + b1, a2 + a3, b2 + b3], cd likewise
    const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 2, 6), v128.shuffle<f32>(a, b, 1, 5, 3, 7));
    const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 2, 6), v128.shuffle<f32>(c, d, 1, 5, 3, 7));
    return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
  }

  /**
   * sc[t] = (q · k_t) · invSqrt for positions [t0, t1) of one KV head's keys kg (rows of
   * headDim values of K).
   */
  @inline static scoreRange<K>(
    qh: usize,
    kg: usize,
    headDim: usize,
    t0: i32,
    t1: i32,
    sc: usize,
    invSqrt: f32,
  ): void {
    const rb = headDim * sizeof<K>();
    const hd = headDim << 2;
    const step = 4 * sizeof<K>(); // bytes of four cached values
    let t = t0;
    // eight positions per pass: eight independent sums (one position's is a chain of adds)
    for (; t + 8 <= t1; t += 8) {
      const k0 = kg + <usize>t * rb;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      let a4 = f32x4.splat(0);
      let a5 = f32x4.splat(0);
      let a6 = f32x4.splat(0);
      let a7 = f32x4.splat(0);
      let kp = k0;
      for (let i: usize = 0; i < hd; i += 16) {
        const qv = v128.load(qh + i);
        a0 = AttentionTiles.madd(qv, AttentionTiles.load4<K>(kp), a0);
        a1 = AttentionTiles.madd(qv, AttentionTiles.load4<K>(kp + rb), a1);
        a2 = AttentionTiles.madd(qv, AttentionTiles.load4<K>(kp + 2 * rb), a2);
        a3 = AttentionTiles.madd(qv, AttentionTiles.load4<K>(kp + 3 * rb), a3);
        a4 = AttentionTiles.madd(qv, AttentionTiles.load4<K>(kp + 4 * rb), a4);
        a5 = AttentionTiles.madd(qv, AttentionTiles.load4<K>(kp + 5 * rb), a5);
        a6 = AttentionTiles.madd(qv, AttentionTiles.load4<K>(kp + 6 * rb), a6);
        a7 = AttentionTiles.madd(qv, AttentionTiles.load4<K>(kp + 7 * rb), a7);
        kp += step;
      }
      const o = sc + ((<usize>t) << 2);
      const sv = f32x4.splat(invSqrt);
      v128.store(o, f32x4.mul(AttentionTiles.hsum4(a0, a1, a2, a3), sv));
      v128.store(o, f32x4.mul(AttentionTiles.hsum4(a4, a5, a6, a7), sv), 16);
    }
    for (; t < t1; t++) {
      let kp = kg + <usize>t * rb;
      let a = f32x4.splat(0);
      for (let i: usize = 0; i < hd; i += 16) {
        a = AttentionTiles.madd(v128.load(qh + i), AttentionTiles.load4<K>(kp), a);
        kp += step;
      }
      store<f32>(sc + ((<usize>t) << 2), AttentionTiles.hsumF(a) * invSqrt);
    }
  }

  /**
   * oh += Σ p_t · v_t over positions [t0, t1) of one KV head's values vg (p_t = sc[t];
   * rows of headDim values of K), for outputs [e0, e1) of the row; the first tile starts
   * from zero. 32 outputs (8 vectors) at a time stay in registers.
   */
  @inline static valueRange<K>(
    sc: usize,
    vg: usize,
    headDim: usize,
    t0: i32,
    t1: i32,
    oh: usize,
    e0: usize,
    e1: usize,
  ): void {
    const first = t0 === 0;
    const rb = headDim * sizeof<K>();
    const step = 4 * sizeof<K>(); // bytes of four cached values
    let e = e0;
    for (; e + 32 <= e1; e += 32) {
      const op = oh + (e << 2);
      const zero = f32x4.splat(0);
      let o0 = first ? zero : v128.load(op);
      let o1 = first ? zero : v128.load(op, 16);
      let o2 = first ? zero : v128.load(op, 32);
      let o3 = first ? zero : v128.load(op, 48);
      let o4 = first ? zero : v128.load(op, 64);
      let o5 = first ? zero : v128.load(op, 80);
      let o6 = first ? zero : v128.load(op, 96);
      let o7 = first ? zero : v128.load(op, 112);
      let vp = vg + <usize>t0 * rb + e * sizeof<K>();
      for (let u = t0; u < t1; u++) {
        const p = f32x4.splat(load<f32>(sc + ((<usize>u) << 2)));
        o0 = AttentionTiles.madd(p, AttentionTiles.load4<K>(vp), o0);
        o1 = AttentionTiles.madd(p, AttentionTiles.load4<K>(vp + step), o1);
        o2 = AttentionTiles.madd(p, AttentionTiles.load4<K>(vp + 2 * step), o2);
        o3 = AttentionTiles.madd(p, AttentionTiles.load4<K>(vp + 3 * step), o3);
        o4 = AttentionTiles.madd(p, AttentionTiles.load4<K>(vp + 4 * step), o4);
        o5 = AttentionTiles.madd(p, AttentionTiles.load4<K>(vp + 5 * step), o5);
        o6 = AttentionTiles.madd(p, AttentionTiles.load4<K>(vp + 6 * step), o6);
        o7 = AttentionTiles.madd(p, AttentionTiles.load4<K>(vp + 7 * step), o7);
        vp += rb;
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
    for (; e < e1; e += 4) {
      const op = oh + (e << 2);
      let o0 = first ? f32x4.splat(0) : v128.load(op);
      let vp = vg + <usize>t0 * rb + e * sizeof<K>();
      for (let u = t0; u < t1; u++) {
        const p = f32x4.splat(load<f32>(sc + ((<usize>u) << 2)));
        o0 = AttentionTiles.madd(p, AttentionTiles.load4<K>(vp), o0);
        vp += rb;
      }
      v128.store(op, o0);
    }
  }

  /**
   * scoreRange for heads [h0, h1) of KV head g over positions [t0, t1), a tile of
   * positions at a time: each tile of keys comes from memory once for all the heads.
   */
  @inline static scoreHeads<K>(
    h0: i32,
    h1: i32,
    g: i32,
    t0: i32,
    t1: i32,
    q: usize,
    keys: usize,
    headDim: i32,
    scores: usize,
    capacity: i32,
  ): void {
    const invSqrt = <f32>(1 / Math.sqrt(<f64>headDim));
    const kg = keys + <usize>g * <usize>capacity * <usize>headDim * sizeof<K>();
    for (let a = t0; a < t1; a += TILE) {
      const b = min(t1, a + TILE);
      for (let h = h0; h < h1; h++) {
        const qh = q + ((<usize>h * <usize>headDim) << 2);
        const sc = scores + ((<usize>h * <usize>capacity) << 2);
        AttentionTiles.scoreRange<K>(qh, kg, <usize>headDim, a, b, sc, invSqrt);
      }
    }
  }

  /**
   * out_h[e0, e1) = Σ_t e_t · v_t (unscaled) for heads [h0, h1) of KV head g over positions
   * 0..n − 1 (e_t = scores_h[t]), a tile of positions at a time as scoreHeads.
   */
  @inline static valueHeads<K>(
    h0: i32,
    h1: i32,
    g: i32,
    n: i32,
    out: usize,
    values: usize,
    headDim: i32,
    scores: usize,
    capacity: i32,
    e0: usize,
    e1: usize,
  ): void {
    const vg = values + <usize>g * <usize>capacity * <usize>headDim * sizeof<K>();
    for (let t0 = 0; t0 < n; t0 += TILE) {
      const t1 = min(n, t0 + TILE);
      for (let h = h0; h < h1; h++) {
        const sc = scores + ((<usize>h * <usize>capacity) << 2);
        const oh = out + ((<usize>h * <usize>headDim) << 2);
        AttentionTiles.valueRange<K>(sc, vg, <usize>headDim, t0, t1, oh, e0, e1);
      }
    }
  }

  /** x[0..n) ×= s (n a multiple of 4). */
  @inline static scaleInPlace(x: usize, n: usize, s: f32): void {
    const sv = f32x4.splat(s);
    for (let i: usize = 0; i < n << 2; i += 16) v128.store(x + i, f32x4.mul(v128.load(x + i), sv));
  }
}

/**
 * NEOX RoPE in place on `heads` heads of headDim; cosSin holds headDim/2 cosines then
 * headDim/2 sines (f64) for this position, computed by the caller.
 */
export function rope(x: usize, heads: i32, headDim: i32, cosSin: usize): void {
  const half = headDim >> 1;
  for (let h = 0; h < heads; h++) {
    const base = x + ((<usize>(h * headDim)) << 2);
    for (let i = 0; i < half; i++) {
      const c = load<f64>(cosSin + ((<usize>i) << 3));
      const s = load<f64>(cosSin + ((<usize>(i + half)) << 3));
      const pa = base + ((<usize>i) << 2);
      const pb = base + ((<usize>(i + half)) << 2);
      const a = <f64>load<f32>(pa);
      const b = <f64>load<f32>(pb);
      store<f32>(pa, <f32>(a * c - b * s));
      store<f32>(pb, <f32>(a * s + b * c));
    }
  }
}

/**
 * x = e^(x − max x) in place over n f32 values; returns their sum (f64, in order, like
 * the reference).
 */
function expShifted(x: usize, n: i32): f64 {
  let m4 = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) m4 = f32x4.pmax(m4, v128.load(x + ((<usize>i) << 2)));
  let m = max(
    max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)),
    max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)),
  );
  for (; i < n; i++) m = max(m, load<f32>(x + ((<usize>i) << 2)));
  const mv = f32x4.splat(m);
  let sum: f64 = 0;
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + ((<usize>i) << 2);
    const e = Lanes.exp4(f32x4.sub(v128.load(p), mv));
    v128.store(p, e);
    sum += <f64>f32x4.extract_lane(e, 0);
    sum += <f64>f32x4.extract_lane(e, 1);
    sum += <f64>f32x4.extract_lane(e, 2);
    sum += <f64>f32x4.extract_lane(e, 3);
  }
  for (; i < n; i++) {
    const p = x + ((<usize>i) << 2);
    const e = f32x4.extract_lane(Lanes.exp4(f32x4.splat(load<f32>(p) - m)), 0);
    store<f32>(p, e);
    sum += <f64>e;
  }
  return sum;
}

/** In-place softmax over n f32 values (f64 sum). */
export function softmax(x: usize, n: i32): void {
  const sum = expShifted(x, n);
  for (let i = 0; i < n; i++) {
    const p = x + ((<usize>i) << 2);
    store<f32>(p, <f32>(<f64>load<f32>(p) / sum));
  }
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
  attentionOf<f32>(
    headBegin,
    headEnd,
    out,
    q,
    keys,
    values,
    pos,
    heads,
    kvHeads,
    headDim,
    scores,
    capacity,
  );
}

/** attention() over either cache format (K: f32, or u16 for bf16). */
function attentionOf<K>(
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
  const hd = (<usize>headDim) << 2;
  const scoreBytes = (<usize>capacity) << 2;
  const n = pos + 1;
  let h0 = headBegin;
  while (h0 < headEnd) {
    // a set: up to four heads of one KV group
    const g = h0 / group;
    const h1 = min(headEnd, min((g + 1) * group, h0 + 4));
    AttentionTiles.scoreHeads<K>(h0, h1, g, 0, n, q, keys, headDim, scores, capacity);
    // softmax numerators; out = Σ e_t · v_t / Σ e_t
    let inv0: f32 = 0;
    let inv1: f32 = 0;
    let inv2: f32 = 0;
    let inv3: f32 = 0;
    for (let h = h0; h < h1; h++) {
      const inv = <f32>(1 / expShifted(scores + <usize>h * scoreBytes, n));
      const j = h - h0;
      if (j === 0) inv0 = inv;
      else if (j === 1) inv1 = inv;
      else if (j === 2) inv2 = inv;
      else inv3 = inv;
    }
    const d = <usize>headDim;
    AttentionTiles.valueHeads<K>(h0, h1, g, n, out, values, headDim, scores, capacity, 0, d);
    for (let h = h0; h < h1; h++) {
      const j = h - h0;
      const inv = j === 0 ? inv0 : j === 1 ? inv1 : j === 2 ? inv2 : inv3;
      AttentionTiles.scaleInPlace(out + <usize>h * hd, <usize>headDim, inv);
    }
    h0 = h1;
  }
}

/**
 * attention() for `tokens` consecutive queries at positions pos0.., heads [headBegin,
 * headEnd): prefill runs a layer's attention in one call. q and out advance qStride
 * floats per token.
 */
function attentionTokensOf<K>(
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
    const o = (<usize>(t * qStride)) << 2;
    attentionOf<K>(
      headBegin,
      headEnd,
      out + o,
      q + o,
      keys,
      values,
      pos0 + t,
      heads,
      kvHeads,
      headDim,
      scores,
      capacity,
    );
  }
}

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
  attentionTokensOf<f32>(
    headBegin,
    headEnd,
    out,
    q,
    keys,
    values,
    pos0,
    tokens,
    qStride,
    heads,
    kvHeads,
    headDim,
    scores,
    capacity,
  );
}

/**
 * attention_tokens over a bf16 KV cache (rope_cache_tokens_bf16 fills it): the same
 * arithmetic on keys and values rounded to bf16; headDim a multiple of 8.
 */
export function attention_tokens_bf16(
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
  attentionTokensOf<u16>(
    headBegin,
    headEnd,
    out,
    q,
    keys,
    values,
    pos0,
    tokens,
    qStride,
    heads,
    kvHeads,
    headDim,
    scores,
    capacity,
  );
}

/*
 * One query's attention (decode) in three pool jobs, so that every thread takes a share
 * of one head group's work: attention_scores by positions, attention_softmax by head,
 * attention_values by slice of the head dimension. Each head's arithmetic is attention()'s
 * in the same order (a score is one position's dot; a value sum runs over positions in
 * order), so the result is attention()'s bit for bit. `bf16` (0 or 1) says the cache's
 * format.
 */

/** Outputs per value slice: the 32 that valueRange holds in registers. */
const VALUE_SLICE = 32;

/**
 * scores[h][t] = q_h · k_t / √headDim for positions [t0, t1) of every head (TILE-aligned
 * t0 keeps attention()'s tiles), a head group at a time (see attention).
 */
function attentionScoresOf<K>(
  t0: i32,
  t1: i32,
  q: usize,
  keys: usize,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  scores: usize,
  capacity: i32,
): void {
  const group = heads / kvHeads;
  for (let g = 0; g < kvHeads; g++) {
    const h0 = g * group;
    AttentionTiles.scoreHeads<K>(h0, h0 + group, g, t0, t1, q, keys, headDim, scores, capacity);
  }
}

export function attention_scores(
  positionBegin: i32,
  positionEnd: i32,
  q: usize,
  keys: usize,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  scores: usize,
  capacity: i32,
  bf16: i32,
): void {
  if (bf16) {
    attentionScoresOf<u16>(
      positionBegin,
      positionEnd,
      q,
      keys,
      heads,
      kvHeads,
      headDim,
      scores,
      capacity,
    );
  } else {
    attentionScoresOf<f32>(
      positionBegin,
      positionEnd,
      q,
      keys,
      heads,
      kvHeads,
      headDim,
      scores,
      capacity,
    );
  }
}

/** Heads [headBegin, headEnd): scores → e^(score − max) in place, inv[h] = 1 / Σ. */
export function attention_softmax(
  headBegin: i32,
  headEnd: i32,
  scores: usize,
  pos: i32,
  capacity: i32,
  inv: usize,
): void {
  for (let h = headBegin; h < headEnd; h++) {
    const sum = expShifted(scores + ((<usize>h * <usize>capacity) << 2), pos + 1);
    store<f32>(inv + ((<usize>h) << 2), <f32>(1 / sum));
  }
}

/** How many units attention_values splits: a head group's value slices, for each group. */
export function attention_value_units(kvHeads: i32, headDim: i32): i32 {
  return kvHeads * ((headDim + VALUE_SLICE - 1) / VALUE_SLICE);
}

/**
 * out_h = inv[h] · Σ_t e_t · v_t over positions 0..pos, for units [unitBegin, unitEnd):
 * unit u is slice u mod slices (VALUE_SLICE outputs) of head group u / slices.
 */
function attentionValuesOf<K>(
  unitBegin: i32,
  unitEnd: i32,
  out: usize,
  values: usize,
  pos: i32,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  scores: usize,
  capacity: i32,
  inv: usize,
): void {
  const group = heads / kvHeads;
  const slices = (headDim + VALUE_SLICE - 1) / VALUE_SLICE;
  let u = unitBegin;
  while (u < unitEnd) {
    // the units of one group in this range: outputs [e0, e1) of its heads
    const g = u / slices;
    const u1 = min(unitEnd, (g + 1) * slices);
    const e0 = <usize>((u - g * slices) * VALUE_SLICE);
    const e1 = <usize>min(headDim, (u1 - g * slices) * VALUE_SLICE);
    const h0 = g * group;
    const h1 = h0 + group;
    AttentionTiles.valueHeads<K>(
      h0,
      h1,
      g,
      pos + 1,
      out,
      values,
      headDim,
      scores,
      capacity,
      e0,
      e1,
    );
    for (let h = h0; h < h1; h++) {
      const s = load<f32>(inv + ((<usize>h) << 2));
      const oh = out + ((<usize>h * <usize>headDim) << 2);
      AttentionTiles.scaleInPlace(oh + (e0 << 2), e1 - e0, s);
    }
    u = u1;
  }
}

export function attention_values(
  unitBegin: i32,
  unitEnd: i32,
  out: usize,
  values: usize,
  pos: i32,
  heads: i32,
  kvHeads: i32,
  headDim: i32,
  scores: usize,
  capacity: i32,
  inv: usize,
  bf16: i32,
): void {
  if (bf16) {
    attentionValuesOf<u16>(
      unitBegin,
      unitEnd,
      out,
      values,
      pos,
      heads,
      kvHeads,
      headDim,
      scores,
      capacity,
      inv,
    );
  } else {
    attentionValuesOf<f32>(
      unitBegin,
      unitEnd,
      out,
      values,
      pos,
      heads,
      kvHeads,
      headDim,
      scores,
      capacity,
      inv,
    );
  }
}

/**
 * Per token t of [tokenBegin, tokenEnd) (the pool splits prefill batches by token): RoPE on
 * q_t (heads) and k_t (kvHeads), then k_t and v_t stored in the caches (see attention)
 * at position pos0 + t. q, k, v advance heads·headDim, kvHeads·headDim, kvHeads·headDim
 * floats per token; cosSin holds headDim f64 per token (see rope).
 */
function ropeCacheTokensOf<K>(
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
  const hd = (<usize>headDim) << 2;
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
      if (sizeof<K>() === 2) {
        const rb = (<usize>headDim) << 1;
        const c = (<usize>g * <usize>capacity + <usize>(pos0 + t)) * rb;
        toBf16(keyCache + c, kt + <usize>g * hd, headDim);
        toBf16(valueCache + c, vt + <usize>g * hd, headDim);
      } else {
        const c = (<usize>g * <usize>capacity + <usize>(pos0 + t)) * hd;
        memory.copy(keyCache + c, kt + <usize>g * hd, hd);
        memory.copy(valueCache + c, vt + <usize>g * hd, hd);
      }
    }
  }
}

/** n f32 values at src rounded to bf16 (to nearest, ties to even) at dst. */
function toBf16(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const bits = load<u32>(src + ((<usize>i) << 2));
    const rounded = bits + 0x7fff + ((bits >> 16) & 1);
    store<u16>(dst + ((<usize>i) << 1), <u16>(rounded >> 16));
  }
}

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
  ropeCacheTokensOf<f32>(
    tokenBegin,
    tokenEnd,
    q,
    k,
    v,
    heads,
    kvHeads,
    headDim,
    cosSin,
    keyCache,
    valueCache,
    pos0,
    capacity,
  );
}

/** rope_cache_tokens into a bf16 KV cache ([kvHead][capacity][headDim] bf16). */
export function rope_cache_tokens_bf16(
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
  ropeCacheTokensOf<u16>(
    tokenBegin,
    tokenEnd,
    q,
    k,
    v,
    heads,
    kvHeads,
    headDim,
    cosSin,
    keyCache,
    valueCache,
    pos0,
    capacity,
  );
}

// Lane helpers the op families share (inlined at every use). Inlined helpers are
// `@inline static` methods throughout assembly/: TypeScript syntax, which biome parses,
// allows decorators on methods but not on functions.

export class Lanes {
  /** Sum of the four i32 lanes. */
  @inline static hsum(v: v128): i32 {
    return (
      i32x4.extract_lane(v, 0) +
      i32x4.extract_lane(v, 1) +
      i32x4.extract_lane(v, 2) +
      i32x4.extract_lane(v, 3)
    );
  }

  /**
   * Two rows' sums taken apart from i32 lanes that hold Σa + 2^14·Σb (the row-pair and
   * lane-pair forms): Σa from the low 14 bits (exact while it stays within ±8191), then Σb.
   */
  @inline static pairLow(t: v128): v128 {
    return i32x4.shr_s(i32x4.shl(t, 18), 18);
  }

  @inline static pairHigh(t: v128, low: v128): v128 {
    return i32x4.shr_s(i32x4.sub(t, low), 14);
  }

  // f32 lanes 0–1 and 2–3 as f64x2, and back: elementwise f64 arithmetic in SIMD gives
  // exactly the scalar (and the reference's) results.
  @inline static lo64(v: v128): v128 {
    return f64x2.promote_low_f32x4(v);
  }

  @inline static hi64(v: v128): v128 {
    return f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0));
  }

  @inline static join32(lo: v128, hi: v128): v128 {
    return i64x2.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2);
  }

  /**
   * e^x for four f32 lanes, x ≤ 88 (Cephes expf: x = n·ln 2 + r, |r| ≤ ln 2 / 2, a degree-6
   * polynomial for e^r, 2^n put into the exponent bits): about 2 ulp (Cephes's bound);
   * below −87 it returns about 1e-38 instead of 0 (softmax inputs are ≤ 0: harmless).
   * Math.exp works one f64 at a time.
   */
  @inline static exp4(x: v128): v128 {
    x = f32x4.pmax(x, f32x4.splat(-87.0)); // one instruction, unlike max (see quantize)
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: an f32 literal (Math.LOG2E is f64)
    const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.4426950408889634)));
    // ln 2 in two parts, so that n · ln2Hi is exact
    let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
    r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.1219444e-4)));
    let p = f32x4.splat(1.98756915e-4);
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
    p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
    const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
    return f32x4.mul(p, pow2n);
  }
}

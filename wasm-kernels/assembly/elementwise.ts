// Elementwise ops: gated activations (relu², SiLU) and the residual add.

import { Lanes } from "./lanes";

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
  const begin = (<usize>(tokenBegin * n)) << 2;
  const count = (tokenEnd - tokenBegin) * n;
  if (relu2 !== 0) relu2_gate(out + begin, gate + begin, up + begin, count);
  else silu_gate(out + begin, gate + begin, up + begin, count);
}

/** out = relu(gate)² · up over n f32 (f64 arithmetic like the reference). */
export function relu2_gate(out: usize, gate: usize, up: usize, n: i32): void {
  const zero = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    const g = v128.load(gate + o);
    const u = v128.load(up + o);
    const glo = f64x2.max(Lanes.lo64(g), zero);
    const ghi = f64x2.max(Lanes.hi64(g), zero);
    v128.store(
      out + o,
      Lanes.join32(
        f64x2.mul(f64x2.mul(glo, glo), Lanes.lo64(u)),
        f64x2.mul(f64x2.mul(ghi, ghi), Lanes.hi64(u)),
      ),
    );
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
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
    const o = (<usize>i) << 2;
    const g = v128.load(gate + o);
    // e^−g; min keeps exp4's 2^n in range (silu is −0 there anyway)
    const e = Lanes.exp4(f32x4.pmin(f32x4.neg(g), f32x4.splat(88)));
    const u = v128.load(up + o);
    const lo = f64x2.mul(f64x2.div(Lanes.lo64(g), f64x2.add(one, Lanes.lo64(e))), Lanes.lo64(u));
    const hi = f64x2.mul(f64x2.div(Lanes.hi64(g), f64x2.add(one, Lanes.hi64(e))), Lanes.hi64(u));
    v128.store(out + o, Lanes.join32(lo, hi));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    const g = <f64>load<f32>(gate + o);
    store<f32>(out + o, <f32>((g / (1 + Math.exp(-g))) * <f64>load<f32>(up + o)));
  }
}

/** x += y over n f32. */
export function add_into(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(x + o, f32x4.add(v128.load(x + o), v128.load(y + o)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(x + o, load<f32>(x + o) + load<f32>(y + o));
  }
}

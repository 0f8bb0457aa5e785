/**
 * The context shift (ForwardModel.shiftCache) on the wasm engine's KV cache, which sits in
 * wasm memory head-major: per layer [kvHead][position][headDim] values, `capacity`
 * positions a head, each an f32 or a bf16 (memory-layout.ts, KvFormat). Plain TypeScript on views of that memory: it runs once per dropped block of
 * turns, touches each kept key once, and costs little next to recomputing them (see
 * scripts/bench/kv-shift.ts).
 */

export interface ShiftLayout {
  kvHeads: number;
  headDim: number;
  /** Positions each head's cache holds. */
  capacity: number;
}

/**
 * The rotation that turns a RoPE (NEOX) key back by `discard` positions: cos and sin of
 * -discard × freqs[i] for each of the headDim / 2 pairs (i, i + headDim / 2).
 */
export function shiftRotation(freqs: ArrayLike<number>, discard: number) {
  const cos = new Float64Array(freqs.length);
  const sin = new Float64Array(freqs.length);
  for (let i = 0; i < freqs.length; i++) {
    cos[i] = Math.cos(-discard * freqs[i]);
    sin[i] = Math.sin(-discard * freqs[i]);
  }
  return { cos, sin };
}

/**
 * One layer: positions keep+discard..used-1 of every head move down by `discard`; keys are
 * turned by `rotation` (shiftRotation), values copied as they are. A cache of f32 values
 * comes as Float32Arrays; a bf16 cache as Uint16Arrays of the bf16 bits, whose turned keys
 * are rounded back to bf16 as the kernels write them (nearest, ties to even).
 */
export function shiftLayerCache(
  keys: Float32Array | Uint16Array,
  values: Float32Array | Uint16Array,
  layout: ShiftLayout,
  keep: number,
  discard: number,
  used: number,
  rotation: { cos: Float64Array; sin: Float64Array },
): void {
  const { kvHeads, headDim: d, capacity } = layout;
  for (let h = 0; h < kvHeads; h++) {
    const head = h * capacity * d;
    const from = head + (keep + discard) * d;
    const to = head + keep * d;
    const end = head + used * d;
    values.copyWithin(to, from, end);
    keys.copyWithin(to, from, end);
    if (keys instanceof Float32Array) {
      for (let p = to; p < to + (end - from); p += d) turn(keys, p, d, rotation);
    } else {
      const row = new Float32Array(d);
      const rowBits = new Int32Array(row.buffer);
      for (let p = to; p < to + (end - from); p += d) {
        for (let i = 0; i < d; i++) rowBits[i] = keys[p + i] << 16;
        turn(row, 0, d, rotation);
        for (let i = 0; i < d; i++) keys[p + i] = bf16Bits(rowBits[i]);
      }
    }
  }
}

/** Turns the key of d values at keys[p..] by `rotation` (NEOX pairs i, i + d / 2). */
function turn(
  keys: Float32Array,
  p: number,
  d: number,
  { cos, sin }: { cos: Float64Array; sin: Float64Array },
): void {
  const half = d / 2;
  for (let i = 0; i < half; i++) {
    const a = keys[p + i];
    const b = keys[p + i + half];
    keys[p + i] = a * cos[i] - b * sin[i];
    keys[p + i + half] = a * sin[i] + b * cos[i];
  }
}

/**
 * The bf16 bits of an f32 given by its bits: the upper half rounded to nearest, ties to
 * even (a turned key is never NaN: the kernels' keys are finite).
 */
function bf16Bits(x: number): number {
  // in 32-bit integers throughout (a sum past 2^31 would make V8 work in doubles)
  const high = x >>> 16;
  const low = x & 0xffff;
  return (high + (low > 0x8000 || (low === 0x8000 && (high & 1) === 1) ? 1 : 0)) & 0xffff;
}

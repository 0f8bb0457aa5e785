/**
 * The context shift (ForwardModel.shiftCache) on the wasm engine's KV cache, which sits in
 * wasm memory head-major: per layer [kvHead][position][headDim] f32, `capacity` positions
 * a head. Plain TypeScript on views of that memory: it runs once per dropped block of
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
 * turned by `rotation` (shiftRotation), values copied as they are.
 */
export function shiftLayerCache(
  keys: Float32Array,
  values: Float32Array,
  layout: ShiftLayout,
  keep: number,
  discard: number,
  used: number,
  rotation: { cos: Float64Array; sin: Float64Array },
): void {
  const { kvHeads, headDim: d, capacity } = layout;
  const half = d / 2;
  const { cos, sin } = rotation;
  for (let h = 0; h < kvHeads; h++) {
    const head = h * capacity * d;
    const from = head + (keep + discard) * d;
    const to = head + keep * d;
    const end = head + used * d;
    values.copyWithin(to, from, end);
    keys.copyWithin(to, from, end);
    for (let p = to; p < to + (end - from); p += d) {
      for (let i = 0; i < half; i++) {
        const a = keys[p + i];
        const b = keys[p + i + half];
        keys[p + i] = a * cos[i] - b * sin[i];
        keys[p + i + half] = a * sin[i] + b * cos[i];
      }
    }
  }
}
